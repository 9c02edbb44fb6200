"""Benchmark the outcome pages against their floors; prints a table. See benchmarks/README.md.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/run.py [--runs 15]
"""

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KETACARE_DEBUG", "False")  # DEBUG records every query: measure production settings
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

logging.getLogger("weasyprint").setLevel(logging.ERROR)
# Static files are served by WhiteNoise from the collected manifest in production; here from the app folders.
settings.STORAGES = {**settings.STORAGES,
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

from ketacare.accounts.models import User  # noqa: E402
from ketacare.accounts.roles import Role  # noqa: E402
from ketacare.core.models import Clinic  # noqa: E402
from ketacare.instruments.models import QuestionnaireResponse  # noqa: E402
from ketacare.outcomes.models import PatientOutcome  # noqa: E402
from ketacare.patients.models import Patient  # noqa: E402

BARE_SQL = """
SELECT instrument_key, COUNT(DISTINCT patient_id), AVG(total)
FROM instruments_questionnaireresponse
WHERE clinic_id = %s AND status = 'complete' AND total IS NOT NULL
GROUP BY instrument_key
"""


def largest_clinic() -> Clinic:
    row = (PatientOutcome.objects.values("clinic_id").annotate(n=Count("id")).order_by("-n").first())
    if row is None:
        sys.exit("No outcome summaries: run `ketacare synth --patients 100000 --clinics 1` first (see README).")
    return Clinic.objects.get(pk=row["clinic_id"])


def staff(clinic: Clinic) -> User:
    user = User.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True).order_by("id").first()
    if user is None:
        sys.exit(f"No prescriber in clinic {clinic.pk}")
    return user


def long_patient(clinic: Clinic, user: User) -> Patient:
    """The patient with three years of weekly PHQ-9 and GAD-7 (created once)."""
    mrn = f"{clinic.code.upper()}-BENCH01"
    patient = Patient.objects.filter(clinic=clinic, mrn=mrn).first()
    if patient is None:
        from django.db import transaction

        from ketacare.seed.synth import UTC, AnswerBank, BulkWriter, Generator, _clinic_ctx

        writer = BulkWriter()
        gen = Generator(writer=writer, bank=AnswerBank(), today=dt.date.today(), seed=150)
        nurses = list(User.objects.filter(clinic=clinic, role=Role.NURSE).values_list("id", flat=True)[:4])
        ctx = _clinic_ctx(writer, clinic, dt.date.today(), prescribers=[user.pk], nurses=nurses or [user.pk])
        start = dt.datetime.combine(dt.date.today() - dt.timedelta(weeks=150), dt.time(14), tzinfo=UTC)
        with transaction.atomic():
            sim = gen.patient(ctx, first_dose=start, weekly_years=149 / 52.18, profile="mdd_gad", showcase=True)
            writer.flush()
            Patient.objects.filter(pk=sim.patient_id).update(mrn=mrn, given_name="Morgan", family_name="Longfield")
        writer.reset_sequences()
        patient = Patient.objects.get(mrn=mrn, clinic=clinic)
    return patient


def timed(fn, runs: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("warning: not PostgreSQL; the targets are for PostgreSQL", file=sys.stderr)
    clinic = largest_clinic()
    user = staff(clinic)
    patient = long_patient(clinic, user)
    client = Client()
    client.force_login(user)
    counts = dict(QuestionnaireResponse.objects.filter(patient=patient, instrument_key__in=["phq-9", "gad-7"])
                  .values_list("instrument_key").annotate(n=Count("id")).values_list("instrument_key", "n"))
    n_patients = PatientOutcome.objects.filter(clinic=clinic).count()
    n_responses = QuestionnaireResponse.objects.filter(clinic=clinic).count()

    def get(url, expect="text/html"):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert response["Content-Type"].startswith(expect), response["Content-Type"]
            return response
        return call

    def bare_sql():
        with connection.cursor() as cursor:
            cursor.execute(BARE_SQL, [clinic.pk])
            cursor.fetchall()

    def report_sql_only():
        from ketacare.outcomes.selectors import CohortFilter, cohort_aggregate

        cohort_aggregate(clinic_id=clinic.pk, cohort=CohortFilter())

    rows = [
        ("trivial page (home)", timed(get("/"), args.runs), None, None),
    ]
    page = get(f"/outcomes/patients/{patient.pk}/")

    def page_after_new_data():
        # What the first view after a new response, dose or definition costs: the cached body is gone.
        caches["patient_pages"].clear()
        page()

    rows.append(("patient outcomes page", timed(page, args.runs), 50, 0))
    rows.append(("  same, after new data", timed(page_after_new_data, args.runs), 50, None))
    rows.append(("patient outcomes PDF", timed(get(f"/outcomes/patients/{patient.pk}/outcomes.pdf",
                                                   "application/pdf"), max(5, args.runs // 2)), 300, None))
    rows.append(("bare SQL aggregate", timed(bare_sql, args.runs), None, None))
    rows.append(("clinic report page", timed(get("/outcomes/report/"), args.runs), 1000, 4))
    rows.append(("  its SQL alone (GROUP BYs)", timed(report_sql_only, args.runs), None, None))

    print(f"\nDatabase: {connection.vendor} {connection.settings_dict.get('NAME')}; clinic {clinic.pk} with "
          f"{n_patients:,} treated patients and {n_responses:,} questionnaire responses; long patient "
          f"{counts.get('phq-9', 0)} PHQ-9 + {counts.get('gad-7', 0)} GAD-7 responses; median of {args.runs} runs\n")
    header = f"{'measurement':<30}{'median ms':>11}{'p90 ms':>10}{'floor x':>9}{'target':>14}  result"
    print(header)
    print("-" * len(header))
    medians = {name: statistics.median(samples) for name, samples, _, _ in rows}
    for name, samples, target_ms, floor_index in rows:
        median = medians[name]
        p90 = sorted(samples)[max(0, int(len(samples) * 0.9) - 1)]
        ratio = ""
        verdict = ""
        target = ""
        ok = True
        if floor_index is not None:
            floor = medians[rows[floor_index][0]]
            ratio = f"{median / floor:.2f}"
            ok = median <= 2 * floor
            target = "< 2x floor"
        if target_ms is not None:
            target = f"< {target_ms} ms" + (", 2x" if floor_index is not None else "")
            ok = ok and median < target_ms
        if target:
            verdict = "ok" if ok else "MISSED"
        print(f"{name:<30}{median:>11.1f}{p90:>10.1f}{ratio:>9}{target:>14}  {verdict}")
    print("\nFloors: the patient page is compared with the trivial page, the clinic report with the bare SQL "
          "aggregate over the raw responses.")


if __name__ == "__main__":
    main()

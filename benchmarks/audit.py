"""The cost of the audit trail: one audit row written on its own, and one audited page (the patient chart), on the
database in DATABASE_URL with the demo clinic seeded (`ketacare migrate && ketacare demo`). See benchmarks/README.md.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/audit.py [--runs 201]
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

if "PYTHONPATH" not in os.environ:  # PYTHONPATH may name another checkout (to measure it against this one)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("KETACARE_DEBUG", "False")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from ketacare.accounts.models import User  # noqa: E402
from ketacare.audit.models import AuditAction  # noqa: E402
from ketacare.audit.services import audit_record  # noqa: E402
from ketacare.patients.models import Patient  # noqa: E402

settings.STORAGES = {**settings.STORAGES,
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def timed(fn, runs: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=201)
    runs = parser.parse_args().runs
    nurse = User.objects.get(username="nurse")
    patient = Patient.objects.filter(clinic_id=nurse.clinic_id).order_by("pk").first()
    assert patient is not None, "seed the demo first: ketacare demo"
    client = Client()
    client.force_login(nurse)
    url = f"/patients/{patient.pk}/"
    assert client.get(url).status_code == 200

    def one_row():
        audit_record(actor=nurse, action=AuditAction.PATIENT_VIEWED, patient_id=patient.pk, data={"via": "bench"})

    def one_row_in_transaction():
        with transaction.atomic():
            one_row()

    rows = [("audit row, on its own (autocommit)", timed(one_row, runs)),
            ("audit row, inside a transaction", timed(one_row_in_transaction, runs)),
            ("patient chart page (one audit row)", timed(lambda: client.get(url), runs))]
    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}; median of {runs}")
    print(f"{'measurement':40} {'median ms':>10} {'p90 ms':>8}")
    for name, (median, p90) in rows:
        print(f"{name:40} {median:10.2f} {p90:8.2f}")


if __name__ == "__main__":
    main()

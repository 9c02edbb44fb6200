"""The driver: clinics, staff and documents, then patients in batches, then sequences and summaries."""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from ketacare.core import clock
from ketacare.seed.synth.answers import (
    AnswerBank,
)
from ketacare.seed.synth.bulk import (
    UTC,
    BulkWriter,
)
from ketacare.seed.synth.simulation import (
    ClinicCtx,
    Generator,
)


class Progress:
    """A one-line progress bar on stderr: done/total, rows written, rate and time left."""

    def __init__(self, total: int, *, stream=None, enabled: bool = True) -> None:
        self.total, self.stream, self.enabled = total, stream or sys.stderr, enabled
        self.start = time.monotonic()

    def update(self, done: int, rows: int) -> None:
        if not self.enabled:
            return
        elapsed = max(1e-6, time.monotonic() - self.start)
        share = done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        left = elapsed / share - elapsed if share else 0
        self._write(f"\r[{bar:<30}] {done}/{self.total} patients  {rows:,} rows  "
                    f"{done / elapsed:,.0f} patients/s  {left:,.0f} s left ")

    def _write(self, text: str) -> None:
        if hasattr(self.stream, "ending"):  # a management command's OutputWrapper: no newline per update
            self.stream.write(text, ending="")  # type: ignore[call-arg]
        else:
            self.stream.write(text)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._write("\n")


def _is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def _staff(writer: BulkWriter, clinic_id: int, code: str) -> tuple[list[int], list[int]]:
    from django.contrib.auth.hashers import make_password

    User = apps.get_model("accounts.User")  # noqa: N806
    password = make_password(None)  # unusable: synthetic staff cannot sign in
    prescribers: list[Any] = []
    nurses: list[Any] = []
    now = clock.now()
    for role, count, target in (("prescriber", 2, prescribers), ("nurse", 4, nurses)):
        for n in range(1, count + 1):
            username = f"{code}-{role}-{n}"
            existing = User.objects.filter(username=username).values_list("id", flat=True).first()
            if existing:
                target.append(existing)
                continue
            user_id = writer.new_id(User)
            writer.add(User, id=user_id, username=username, password=password, first_name=role.capitalize(),
                       last_name=f"{code.upper()} {n}", email="", is_staff=False, is_active=True, is_superuser=False,
                       date_joined=now, clinic_id=clinic_id, role=role)
            target.append(user_id)
    return prescribers, nurses


def _documents(writer: BulkWriter, clinic_id: int, author: int, today: dt.date) -> dict[str, int]:
    Document = apps.get_model("screening.ConsentDocument")  # noqa: N806
    result = {}
    for route, title in (("iv-ketamine", "IV ketamine"), ("esketamine", "Esketamine nasal spray")):
        existing = Document.objects.filter(clinic_id=clinic_id, route=route, version="synthetic-1").values_list(
            "id", flat=True).first()
        if existing:
            result[route] = existing
            continue
        doc_id = writer.new_id(Document)
        now = clock.now()
        writer.add(Document, id=doc_id, clinic_id=clinic_id, route=route, version="synthetic-1",
                   title=f"Consent to {title} (synthetic)", body="Synthetic consent text for generated data.",
                   effective_on=today - dt.timedelta(days=5 * 365), created_at=now, created_by_id=author,
                   updated_at=now, published_at=now, published_by_id=author)
        result[route] = doc_id
    return result


def _clinic_ctx(writer: BulkWriter, clinic, today: dt.date, *, prescribers=None, nurses=None) -> ClinicCtx:
    if prescribers is None:
        prescribers, nurses = _staff(writer, clinic.pk, clinic.code)
    documents = _documents(writer, clinic.pk, prescribers[0], today)
    return ClinicCtx(clinic.pk, clinic.code, prescribers, nurses, documents, clinic.next_mrn)


def _first_dose(rng: random.Random, today: dt.date, span_days: int) -> dt.datetime:
    day = today - dt.timedelta(days=rng.randint(10, span_days))
    return dt.datetime(day.year, day.month, day.day, rng.choice([13, 14, 15, 16, 18]), rng.choice([0, 15, 30, 45]),
                       tzinfo=UTC)


def generate(*, patients: int, clinics: int = 1, seed: int = 1, today: dt.date | None = None, batch: int = 1000,
             progress: bool = True, span_days: int = 3 * 365, stream=None, fast_load: bool = False) -> dict:
    """Generate `patients` patients spread over `clinics` new synthetic clinics; returns counts."""
    Clinic = apps.get_model("core.Clinic")  # noqa: N806
    today = today or clock.today()
    writer, bank = BulkWriter(), AnswerBank()
    gen = Generator(writer=writer, bank=bank, today=today, seed=seed)
    started = time.monotonic()
    with transaction.atomic():
        rows = []
        for n in range(clinics):
            clinic, _ = Clinic.objects.get_or_create(
                code=f"syn{seed % 1000:03d}{n + 1:03d}"[:16],
                defaults={"name": f"Synthetic Clinic {seed % 1000:03d}-{n + 1:03d}"})
            rows.append(clinic)
        writer_ctx = [_clinic_ctx(writer, c, today) for c in rows]
        writer.flush()
    bar = Progress(patients, enabled=progress, stream=stream)
    done = 0
    fast = fast_load and connection.vendor == "postgresql" and _is_superuser()
    while done < patients:
        size = min(batch, patients - done)
        with transaction.atomic():
            if fast:
                # Bulk-load mode for this transaction only: foreign-key triggers off (the generator assigns every
                # id itself and tests check the same code with the checks on), no wait for the WAL flush.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for k in range(size):
                ctx = writer_ctx[(done + k) % clinics]
                gen.patient(ctx, first_dose=_first_dose(gen.rng, today, span_days))
            gen.summaries(clock.now())
            writer.flush()
            for ctx in writer_ctx:
                Clinic.objects.filter(pk=ctx.clinic_id).update(next_mrn=ctx.next_mrn)
        done += size
        bar.update(done, writer.written)
    bar.finish()
    writer.reset_sequences()
    writer.analyze()
    from ketacare.outcomes.services import mark_current

    mark_current(clinic_ids=[c.clinic_id for c in writer_ctx])
    return {"patients": patients, "clinics": clinics, "rows": writer.written,
            "seconds": round(time.monotonic() - started, 1), "clinic_ids": [c.clinic_id for c in writer_ctx]}


def seed_clinic_demo(*, clinic, users: dict, today: dt.date) -> None:
    """Whole synthetic histories for the demo clinic's patients that have no treatment course yet (idempotent: a
    patient who has a course is left alone), the last of them with three years of weekly PHQ-9 and GAD-7; then the
    clinic's outcome summaries are rebuilt."""
    Patient = apps.get_model("patients.Patient")  # noqa: N806
    Course = apps.get_model("treatment.Course")  # noqa: N806
    Response = apps.get_model("instruments.QuestionnaireResponse")  # noqa: N806
    busy = set(Course.objects.filter(clinic=clinic).values_list("patient_id", flat=True)) | set(
        Response.objects.filter(clinic=clinic).values_list("patient_id", flat=True))
    free = [p for p in Patient.objects.filter(clinic=clinic).order_by("mrn").values_list("id", "given_name",
                                                                                       "family_name")
            if p[0] not in busy]
    # Keep the first patients (screening's and treatment's demo cases) out of it.
    free = [p for p in free if p[0] not in set(Patient.objects.filter(clinic=clinic).order_by("mrn")
                                                .values_list("id", flat=True)[:8])]
    if free:
        writer, bank = BulkWriter(), AnswerBank()
        gen = Generator(writer=writer, bank=bank, today=today, seed=2026)
        prescribers = [u.pk for u in users.values() if u.role == "prescriber"]
        nurses = [u.pk for u in users.values() if u.role == "nurse"]
        clinic.refresh_from_db()
        ctx = _clinic_ctx(writer, clinic, today, prescribers=prescribers, nurses=nurses)
        with transaction.atomic():
            *others, longest = free
            for existing in others:
                gen.patient(ctx, first_dose=_first_dose(gen.rng, today, 2 * 365), existing=existing)
            long_start = dt.datetime.combine(today - dt.timedelta(days=3 * 365 + 10), dt.time(14, 0), tzinfo=UTC)
            gen.patient(ctx, first_dose=long_start, weekly_years=3.0, existing=longest, profile="mdd_gad",
                        showcase=True)
            writer.flush()
        writer.reset_sequences()
    from ketacare.outcomes.services import mark_current, summaries_rebuild

    # The other demo seeders wrote through the services: rebuild the whole clinic, then mark it current.
    summaries_rebuild(clinic_id=clinic.pk)
    mark_current(clinic_ids=[clinic.pk])


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def add_patients(*, clinic, prescribers: list[int], nurses: list[int], count: int, seed: int = 7,
                 today: dt.date | None = None, weekly_years: float | None = None,
                 first_dose: dt.datetime | None = None, span_days: int = 365) -> list[int]:
    """Generate `count` patients with whole histories in an existing clinic (tests, demo); summaries not written."""
    today = today or clock.today()
    writer, bank = BulkWriter(), AnswerBank()
    gen = Generator(writer=writer, bank=bank, today=today, seed=seed)
    clinic.refresh_from_db()
    ctx = _clinic_ctx(writer, clinic, today, prescribers=prescribers, nurses=nurses)
    ids = []
    with transaction.atomic():
        for _ in range(count):
            sim = gen.patient(ctx, first_dose=first_dose or _first_dose(gen.rng, today, span_days),
                              weekly_years=weekly_years)
            ids.append(sim.patient_id)
        writer.flush()
        apps.get_model("core.Clinic").objects.filter(pk=clinic.pk).update(next_mrn=ctx.next_mrn)
    writer.reset_sequences()
    return ids

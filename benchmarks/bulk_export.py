"""Benchmark FHIR Bulk Data $export end to end (kick-off → the worker's run → files) on the largest clinic.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bulk_export.py [--runs 3] [--types Patient,Observation]

Prints, per run and as the median: patients, resources written, seconds, resources per second. The run is the
worker's own code path (interop.bulk.run: selectors, FHIR mapping, NDJSON, digests, one audit row per patient).
Exports made here are deleted afterwards (files and status), so runs leave only their audit rows behind.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KETACARE_DEBUG", "False")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from ketacare.accounts.models import User  # noqa: E402
from ketacare.accounts.roles import Role  # noqa: E402
from ketacare.core.models import Clinic  # noqa: E402
from ketacare.interop import bulk  # noqa: E402
from ketacare.patients.models import Patient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--types", default="", help="_type (default: every patient-level type)")
    args = parser.parse_args()
    counts = {c.pk: Patient.objects.filter(clinic=c).count() for c in Clinic.objects.all()}
    if not counts or max(counts.values()) == 0:
        sys.exit("No patients: run `ketacare synth --patients 2000 --clinics 1` first (see benchmarks/README.md).")
    clinic = Clinic.objects.get(pk=max(counts, key=lambda k: counts[k]))
    user = User.objects.filter(clinic=clinic, username=f"bench-bulk-{clinic.pk}").first() or \
        User.objects.create_user(username=f"bench-bulk-{clinic.pk}", password=secrets.token_urlsafe(16),
                                 clinic=clinic, role=Role.PRESCRIBER)
    types = bulk.parse_types(args.types, "patient")
    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}; clinic {clinic.pk} with "
          f"{counts[clinic.pk]:,} patients; types: {', '.join(types) or 'all patient-level'}")
    rates = []
    for n in range(args.runs):
        export = bulk.kick_off(user=user, level="patient", request_url="bench", types=types, since=None)
        DBTaskResult.objects.filter(args_kwargs__args=[export.pk]).delete()  # run here, not by a worker
        start = time.perf_counter()
        bulk.run(export_id=export.pk)
        seconds = time.perf_counter() - start
        export.refresh_from_db()
        size = sum(f.size_bytes for f in export.files.all())
        rates.append(export.resources_written / seconds)
        print(f"run {n + 1}: {export.patients_done:,} patients, {export.resources_written:,} resources, "
              f"{size / 1e6:,.1f} MB in {seconds:.1f} s = {rates[-1]:,.0f} resources/s")
        bulk.delete(user=user, public_id=export.public_id)
    print(f"median: {statistics.median(rates):,.0f} resources/s over {len(rates)} run(s) (target: 10,000/s)")


if __name__ == "__main__":
    main()

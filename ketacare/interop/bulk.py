"""FHIR Bulk Data `$export` (Bulk Data Access IG 2.0, docs/domain/fhir-mapping.md §5): kick-off, a worker that
writes NDJSON, a status with progress, a manifest, downloads and delete.

    kick_off(user=..., level="patient", types=["Observation"], since=None, request_url=...)  -> BulkExport
    run(export_id=...)                 # the worker's task (interop.tasks.run_bulk_export)
    status_of(user=..., public_id=...) # the export, if this user asked for it; NotFound otherwise

The same rules as the read API: the asking user's clinic only, read through the owning apps' selectors with that
user (so a role check forgotten here still holds there), every patient whose record is written audited once per
export. `transactionTime` is fixed at kick-off: a resource recorded after it is left out, so a client that passes
it as the next `_since` misses nothing and gets nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import shutil
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError, NotFound, PermissionDenied
from ketacare.interop import selectors
from ketacare.interop.domain import resources as r
from ketacare.interop.models import BulkExport, BulkExportFile

logger = logging.getLogger(__name__)

LEVELS = ("system", "patient", "group")
PATIENT_TYPES = ("Patient", *selectors.PATIENT_COMPARTMENT)
SYSTEM_TYPES = (*PATIENT_TYPES, "Questionnaire")
GROUPS = {"all-patients": "Every patient of the clinic"}
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PART_LINES = 50_000  # resources per file: a client can fetch parts in parallel and resume
PROGRESS_EVERY = 200  # patients between progress writes
STALE_AFTER = dt.timedelta(minutes=10)  # a running export without progress for this long is started again
PERMS = (Perm.PATIENT_VIEW, Perm.CLINICAL_VIEW, Perm.FHIR_BULK_EXPORT)


class BulkError(DomainError):
    """A kick-off the server refuses (400 with an OperationOutcome naming the parameter)."""


def export_dir(export: BulkExport) -> Path:
    return Path(settings.KETACARE_BULK_EXPORT_DIR) / export.public_id


def parse_types(text: str | None, level: str) -> list[str]:
    """`_type`: comma-separated resource types this level serves; empty means all."""
    if text is None or not text.strip():
        return []
    allowed = SYSTEM_TYPES if level == "system" else PATIENT_TYPES
    types = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in types if t not in allowed]
    if unknown:
        raise BulkError(f"_type: {', '.join(unknown)} cannot be exported here (types: {', '.join(allowed)})")
    return list(dict.fromkeys(types))


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """`_since`: a FHIR instant (date, time and zone); not in the future."""
    if text is None or not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BulkError(f"_since: {text!r} is not a FHIR instant (e.g. 2026-11-01T00:00:00Z)") from None
    if value.tzinfo is None or "T" not in text:
        raise BulkError("_since: an instant needs a time and a time zone (e.g. 2026-11-01T00:00:00Z)")
    if value > now:
        raise BulkError("_since is in the future")
    return value


def kick_off(*, user: Any, level: str, request_url: str, types: list[str], since: dt.datetime | None,
             group_id: str = "") -> BulkExport:
    if not all(user.has_perm_to(p) for p in PERMS):
        raise PermissionDenied("Your role may not export the clinic's records.")
    if level not in LEVELS:
        raise BulkError(f"unknown export level {level!r}")
    if level == "group" and group_id not in GROUPS:
        raise NotFound("No such group.")
    now = clock.now()
    with transaction.atomic():
        export = BulkExport.objects.create(
            clinic_id=user.clinic_id, public_id=secrets.token_hex(16), level=level, group_id=group_id,
            types=types, since=since, request_url=request_url[:2000], requested_by=user, transaction_time=now,
            created_at=now, updated_at=now,
            expires_at=now + dt.timedelta(hours=settings.KETACARE_BULK_EXPORT_HOURS))
        audit_record(actor=user, action=AuditAction.FHIR_BULK_EXPORT_REQUESTED, target=export,
                     data={"level": level, "group": group_id, "types": types,
                           "since": r.instant(since) if since else None})
        pk = export.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return export


def _enqueue(export_id: int) -> None:
    from ketacare.interop.tasks import run_bulk_export

    run_bulk_export.enqueue(export_id)


def status_of(*, user: Any, public_id: str) -> BulkExport:
    """The export if this user kicked it off (the Bulk Data IG ties status and files to the requesting client)."""
    if not all(user.has_perm_to(p) for p in PERMS):
        raise PermissionDenied("Your role may not export the clinic's records.")
    export = BulkExport.objects.filter(public_id=public_id, clinic_id=user.clinic_id, requested_by=user).first()
    if export is None or export.status == BulkExport.Status.DELETED:
        raise NotFound("No such export.")
    return export


def delete(*, user: Any, public_id: str) -> None:
    export = status_of(user=user, public_id=public_id)
    with transaction.atomic():
        BulkExport.objects.filter(pk=export.pk).update(status=BulkExport.Status.DELETED, updated_at=clock.now())
        audit_record(actor=user, action=AuditAction.FHIR_BULK_EXPORT_DELETED, target=export, data={})
    shutil.rmtree(export_dir(export), ignore_errors=True)


def file_of(*, user: Any, public_id: str, name: str) -> tuple[BulkExport, BulkExportFile, Path]:
    export = status_of(user=user, public_id=public_id)
    if export.status != BulkExport.Status.COMPLETE:
        raise NotFound("No such file.")
    for f in export.files.all():
        if f.name == name:
            path = export_dir(export) / f.name
            if not path.is_file():
                raise NotFound("No such file.")
            audit_record(actor=user, action=AuditAction.FHIR_BULK_EXPORT_DOWNLOADED, target=export,
                         data={"file": f.name, "count": f.count})
            return export, f, path
    raise NotFound("No such file.")


def manifest(export: BulkExport, base: str) -> dict[str, Any]:
    files = sorted(export.files.all(), key=lambda f: (f.resource_type, f.part))
    return {
        "transactionTime": r.instant(export.transaction_time),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [{"type": f.resource_type, "url": f"{base}/bulkfiles/{export.public_id}/{f.name}",
                    "count": f.count} for f in files],
        "error": [],
    }


def progress(export: BulkExport) -> str:
    if export.status == BulkExport.Status.QUEUED:
        return "queued"
    if not export.patients_total:
        return "starting"
    pct = 100 * export.patients_done // export.patients_total
    return f"{pct}% ({export.patients_done} of {export.patients_total} patients, {export.resources_written} resources)"


# ---- the worker's part ----------------------------------------------------------------------------------------

class _Writer:
    """NDJSON files per resource type, a new part every PART_LINES resources, each with its count and digest."""

    def __init__(self, export: BulkExport) -> None:
        self.export, self.dir = export, export_dir(export)
        shutil.rmtree(self.dir, ignore_errors=True)  # a restarted run writes everything again
        self.dir.mkdir(parents=True)
        self.open: dict[str, tuple[IO[bytes], Any, int, int]] = {}  # type -> (file, digest, part, lines)
        self.done: list[BulkExportFile] = []
        self.total = 0

    def write(self, resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        handle, digest, part, lines = self.open.get(kind) or self._start(kind, 1)
        if lines >= PART_LINES:
            self._finish(kind)
            handle, digest, part, lines = self._start(kind, part + 1)
        line = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        handle.write(line)
        digest.update(line)
        self.open[kind] = (handle, digest, part, lines + 1)
        self.total += 1

    def _start(self, kind: str, part: int) -> tuple[IO[bytes], Any, int, int]:
        entry = ((self.dir / f"{kind}-{part}.ndjson").open("wb"), hashlib.sha256(), part, 0)
        self.open[kind] = entry
        return entry

    def _finish(self, kind: str) -> None:
        handle, digest, part, lines = self.open.pop(kind)
        handle.close()
        self.done.append(BulkExportFile(clinic_id=self.export.clinic_id, export=self.export, resource_type=kind,
                                        part=part, count=lines,
                                        size_bytes=(self.dir / f"{kind}-{part}.ndjson").stat().st_size,
                                        sha256=digest.hexdigest()))

    def close(self) -> list[BulkExportFile]:
        for kind in list(self.open):
            self._finish(kind)
        return self.done

    def abort(self) -> None:
        for handle, *_ in self.open.values():
            handle.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _changed(resource: dict[str, Any], since: dt.datetime | None, until: dt.datetime) -> bool:
    updated = resource.get("meta", {}).get("lastUpdated")
    if updated is None:
        return since is None
    when = dt.datetime.fromisoformat(updated.replace("Z", "+00:00"))
    return when <= until and (since is None or when >= since)


def run(*, export_id: int) -> str:
    """Write the export's files (called by the worker; running it again starts the export over)."""
    export = BulkExport.objects.select_related("requested_by").get(pk=export_id)
    if export.status in (BulkExport.Status.COMPLETE, BulkExport.Status.DELETED, BulkExport.Status.FAILED):
        return export.status
    user = export.requested_by
    types = export.types or list(SYSTEM_TYPES if export.level == "system" else PATIENT_TYPES)
    patients = selectors.patients_for(user=user).filter(created_at__lte=export.transaction_time)
    ids = list(patients.values_list("pk", flat=True))
    now = clock.now()
    BulkExport.objects.filter(pk=export.pk).update(status=BulkExport.Status.RUNNING, started_at=now, updated_at=now,
                                                   patients_total=len(ids), patients_done=0, resources_written=0)
    writer = _Writer(export)
    try:
        if "Questionnaire" in types and export.level == "system":
            for q in selectors.questionnaires():
                writer.write(q)
        for start in range(0, len(ids), PROGRESS_EVERY):
            chunk = list(patients.filter(pk__in=ids[start:start + PROGRESS_EVERY]).order_by("pk"))
            found = selectors.compartments(user=user, patients=chunk, types=set(types))
            for patient in chunk:
                for resource in ([selectors.patient_resource(patient)] if "Patient" in types else []) + \
                        found[patient.pk]:
                    if _changed(resource, export.since, export.transaction_time):
                        writer.write(resource)
                audit_record(actor=user, action=AuditAction.FHIR_READ, patient_id=patient.pk,
                             clinic_id=export.clinic_id,
                             data={"interaction": "bulk-export", "export": export.public_id})
            if not _still_wanted(export):
                writer.abort()
                return "deleted"
            BulkExport.objects.filter(pk=export.pk).update(
                patients_done=min(start + PROGRESS_EVERY, len(ids)), resources_written=writer.total,
                updated_at=clock.now())
        files = writer.close()
    except Exception as exc:
        writer.abort()
        logger.exception("bulk export %s failed (%s)", export.public_id, type(exc).__name__)
        BulkExport.objects.filter(pk=export.pk).update(status=BulkExport.Status.FAILED, finished_at=clock.now(),
                                                       updated_at=clock.now(), error=type(exc).__name__)
        raise
    with transaction.atomic():
        BulkExportFile.objects.filter(export=export).delete()
        BulkExportFile.objects.bulk_create(files)
        finished = BulkExport.objects.filter(pk=export.pk, status=BulkExport.Status.RUNNING).update(
            status=BulkExport.Status.COMPLETE, finished_at=clock.now(), updated_at=clock.now(),
            patients_done=len(ids), resources_written=writer.total)
        audit_record(actor=user, action=AuditAction.FHIR_BULK_EXPORT_COMPLETED, target=export,
                     data={"patients": len(ids), "resources": writer.total, "files": len(files)})
    if not finished:  # deleted while the last files were written
        shutil.rmtree(export_dir(export), ignore_errors=True)
        return "deleted"
    return "complete"


def _still_wanted(export: BulkExport) -> bool:
    return BulkExport.objects.filter(pk=export.pk, status=BulkExport.Status.RUNNING).exists()


def sweep(now: dt.datetime) -> dict[str, int]:
    """The worker's periodic job: remove expired exports' files; start again an export whose worker died."""
    expired = 0
    for export in BulkExport.objects.filter(expires_at__lte=now).exclude(status=BulkExport.Status.DELETED):
        shutil.rmtree(export_dir(export), ignore_errors=True)
        BulkExport.objects.filter(pk=export.pk).update(status=BulkExport.Status.DELETED, updated_at=now)
        expired += 1
    restarted = 0
    stale = BulkExport.objects.filter(status__in=[BulkExport.Status.QUEUED, BulkExport.Status.RUNNING],
                                      updated_at__lte=now - STALE_AFTER)
    for export in stale:
        BulkExport.objects.filter(pk=export.pk).update(status=BulkExport.Status.QUEUED, updated_at=now)
        _enqueue(export.pk)
        restarted += 1
    return {"expired": expired, "restarted": restarted}

"""What a FHIR import brings in: who the patient is in the sending system, each import run, and the imported
history (vital signs, questionnaire totals, medications). All append-only: an import adds rows and never changes
what the clinic recorded; the resource as received is kept beside each row."""

from django.conf import settings
from django.db import models

from ketacare.core.append_only import AppendOnlyModel
from ketacare.core.models import ClinicOwned


class ImportRun(AppendOnlyModel, ClinicOwned):
    """One accepted bundle: where it came from, its digest, what it added and what it left out."""

    source_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    patient_created = models.BooleanField()
    added = models.JSONField(default=dict, help_text="{kind: rows added}")
    already_present = models.JSONField(default=dict, help_text="{kind: rows already imported before}")
    not_imported = models.JSONField(default=dict, help_text="{resource type or code: count}")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()


class ExternalIdentity(AppendOnlyModel, ClinicOwned):
    """The patient's identifier in a sending system: a re-import of the same patient finds them here."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    system = models.CharField(max_length=255)
    value = models.CharField(max_length=128)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "system", "value"], name="one_patient_per_identifier")]


class ImportedObservation(AppendOnlyModel, ClinicOwned):
    """A vital sign or a questionnaire total measured elsewhere (history: it raises no alert and is no session's)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="observations")
    source_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=24)  # bp, heart_rate, resp_rate, spo2, weight, height, temperature, phq-9 ...
    code = models.CharField(max_length=16)  # LOINC
    label = models.CharField(max_length=80)
    effective_at = models.DateTimeField()
    value = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    systolic = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    diastolic = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    unit = models.CharField(max_length=16)
    resource = models.JSONField(help_text="The Observation as received")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "source_id"], name="one_row_per_source_observation")]
        indexes = [models.Index(fields=["patient", "effective_at"])]


class ImportedMedication(AppendOnlyModel, ClinicOwned):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="medications")
    source_id = models.CharField(max_length=128)
    code_system = models.CharField(max_length=255)
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=200)
    status = models.CharField(max_length=24)
    authored_on = models.DateField(null=True, blank=True)
    resource = models.JSONField(help_text="The MedicationRequest as received")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "source_id"], name="one_row_per_source_medication")]


class BulkExport(ClinicOwned):
    """One FHIR Bulk Data `$export` request (kick-off → worker → manifest → download → delete).

    A job, not a clinical record: its status moves on, and a client's DELETE (or the expiry sweep) removes its
    files, keeping this row (who asked for what, when, how much was written) as the audit trail does."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted"

    public_id = models.CharField(max_length=32, unique=True, help_text="The id in the status URL (random)")
    level = models.CharField(max_length=8, help_text="system, patient or group")
    group_id = models.CharField(max_length=64, blank=True)
    types = models.JSONField(default=list, help_text="Resource types asked for (_type), all when empty")
    since = models.DateTimeField(null=True, blank=True, help_text="_since: resources changed at or after")
    request_url = models.CharField(max_length=2000)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    transaction_time = models.DateTimeField(help_text="The manifest's transactionTime: nothing after it is included")
    patients_total = models.PositiveIntegerField(default=0)
    patients_done = models.PositiveIntegerField(default=0)
    resources_written = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, help_text="Why it failed (no patient data)")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(help_text="Last progress (a running export silent for long is restarted)")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Files are removed after this")

    class Meta:
        indexes = [models.Index(fields=["clinic", "created_at"])]

    def __str__(self) -> str:
        return f"bulk export {self.public_id} ({self.status})"


class BulkExportFile(ClinicOwned):
    """One NDJSON file of an export: one resource type, in parts of at most `bulk.PART_LINES` resources."""

    export = models.ForeignKey(BulkExport, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=40)
    part = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "resource_type", "part"], name="one_file_per_part")]

    @property
    def name(self) -> str:
        return f"{self.resource_type}-{self.part}.ndjson"

    def __str__(self) -> str:
        return self.name

"""Questionnaire responses (immutable; corrections are amendments), imported instrument definitions, the
licensed item text a clinic loads for an instrument and the clinic's safety-rule thresholds
(docs/domain/instruments.md §13)."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from ketacare.core.append_only import AppendOnlyModel, AppendOnlyQuerySet, ImmutableRecord
from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision
from ketacare.instruments.choices import ResponseMode, ResponseStatus

# Responses (amend instead), published instrument versions and threshold revisions never change: the one
# append-only error, under the names callers already use.
ResponseLocked = DefinitionLocked = SettingLocked = ImmutableRecord


class ResponseQuerySet(AppendOnlyQuerySet):
    def current(self) -> "ResponseQuerySet":
        """Responses no amendment has superseded."""
        return self.filter(superseded_by__isnull=True)


class QuestionnaireResponse(AppendOnlyModel, ClinicOwned):
    """One completed (or incomplete) questionnaire: raw answers, the scores computed from them by the named
    instrument version, who entered it and when. An amendment is a new row whose `supersedes` is the original."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaire_responses")
    instrument_key = models.CharField(max_length=64)
    instrument_version = models.CharField(max_length=32)
    answers = models.JSONField(default=dict, blank=True, help_text="{linkId: value} as entered (code or number)")
    answered_at = models.DateTimeField(help_text="When the answers refer to (may be earlier than entry)")
    mode = models.CharField(max_length=16, choices=ResponseMode.choices)
    context = models.CharField(max_length=64, blank=True, help_text="e.g. pre-dose, session:12")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    entered_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ResponseStatus.choices)
    total = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    missing = models.JSONField(default=list, blank=True)
    item_scores = models.JSONField(default=dict, blank=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    amendment_reason = models.TextField(max_length=1000, blank=True)

    objects: ClassVar[Any] = ResponseQuerySet.as_manager()  # the plugin cannot type as_manager() over a base manager

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [models.Index(fields=["patient", "instrument_key", "answered_at"], name="response_patient_instr")]
        constraints = [
            models.CheckConstraint(name="amendment_has_reason",
                                   condition=models.Q(supersedes__isnull=True) | ~models.Q(amendment_reason="")),
            models.CheckConstraint(name="staff_entry_names_enterer",
                                   condition=models.Q(mode="patient_portal") | models.Q(entered_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_key}@{self.instrument_version} #{self.pk}"

    @property
    def is_amendment(self) -> bool:
        return self.supersedes_id is not None



class ImportedInstrument(AppendOnlyModel):
    """A FHIR R4 Questionnaire imported with `ketacare instruments import`. A published (key, version) never
    changes; `clinic` empty means every clinic may use it."""

    clinic = models.ForeignKey("core.Clinic", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.SlugField(max_length=64)
    version = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    source = models.JSONField(help_text="The Questionnaire exactly as imported")
    source_sha256 = models.CharField(max_length=64)
    bands_from = models.CharField(max_length=64, blank=True,
                                  help_text="Shipped instrument whose severity bands and direction were applied")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["key", "id"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="imported_key_version_unique")]

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"



class LicensedText(ClinicOwned):
    """The item wording a clinic holds a licence for (e.g. LSAS), shown when entering responses. Scoring never
    reads it (domain.registry.apply_licensed_text only swaps text)."""

    instrument_key = models.CharField(max_length=64)
    instrument_version = models.CharField(max_length=32, help_text="The version the text was checked against")
    content = models.JSONField(help_text="{linkId: text} or {linkId: {text, options: {code: wording}}}")
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    loaded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "instrument_key"], name="one_licensed_text")]

    def __str__(self) -> str:
        return f"{self.instrument_key} text ({self.clinic_id})"


class SafetyThresholdSetting(SettingRevision):
    """A clinic's safety-rule thresholds: {rule code: threshold} overriding the cited defaults of the instrument
    definitions (instruments.md §13.5: alert cut-offs are configuration). Each change is a new revision; the newest
    is in force for responses recorded after it. Revisions never change."""

    overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="safety_threshold_revision_unique")]

    def __str__(self) -> str:
        return f"Safety thresholds revision {self.revision}"

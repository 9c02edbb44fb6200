"""Per-clinic settings as revisions: one base model and one way to revise a setting with a reason.

A clinic's setting (protocol values, REMS flags, questionnaire alert thresholds, screening thresholds, outcome
definitions) is never edited in place: each change is a new row with the next revision number, the reason, who and
when, and the newest row is in force. The rows are append-only (core/append_only.py). What a setting holds, and the
bounds its values must keep, belong to the owning app's domain; the owning app's service checks them, calls `revise`,
and writes its audit event.
"""

from typing import Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ketacare.core import clock
from ketacare.core.append_only import AppendOnlyModel
from ketacare.core.models import ClinicOwned


class SettingRevision(AppendOnlyModel, ClinicOwned):
    """One revision of a clinic's setting. `revision_scope` names the fields (besides the clinic) that a sequence of
    revisions is kept per, e.g. ("protocol_ref",) for a clinic's values of each protocol."""

    revision = models.PositiveIntegerField()
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    revision_scope: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True


REASON_MAX_CHARS = 1000


def revise[S: SettingRevision](model: type[S], *, actor: Any, reason: str, reason_prompt: str,
                               scope: dict[str, Any] | None = None, **values: Any) -> S:
    """Save the next revision of `model` for the actor's clinic (and `scope`), with `values` and the reason.

    The caller has checked the actor's permission and the values against the domain's bounds. Refuses an empty
    reason with `reason_prompt` (say what a good reason looks like). The latest revision is read under a row lock, so
    two admins saving at once get consecutive revisions (and the unique constraint refuses anything else)."""
    scope = dict(scope or {})
    if set(scope) != set(model.revision_scope):
        raise TypeError(f"{model.__name__} revisions are kept per {model.revision_scope}, not {tuple(scope)}")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [reason_prompt]})
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError({"reason": [f"Keep the reason under {REASON_MAX_CHARS} characters "
                                          f"(this one has {len(reason)})."]})
    latest = (model._default_manager.select_for_update().filter(clinic_id=actor.clinic_id, **scope)
              .order_by("-revision").values_list("revision", flat=True).first())
    row = model(clinic_id=actor.clinic_id, revision=(latest or 0) + 1, reason=reason, created_by=actor,
                created_at=clock.now(), **scope, **values)
    row.full_clean(validate_constraints=False)
    row.save()
    return row


def current_revision[S: SettingRevision](model: type[S], *, clinic_id: int, **scope: Any) -> S | None:
    """The revision in force (the newest), or None when the clinic keeps the cited defaults."""
    return cast("S | None", model._default_manager.filter(clinic_id=clinic_id, **scope).select_related("created_by")
                .order_by("-revision").first())


def revision_history[S: SettingRevision](model: type[S], *, clinic_id: int, limit: int = 20, **scope: Any) -> list[S]:
    """The newest revisions first, for the settings page's history."""
    return cast("list[S]", list(model._default_manager.filter(clinic_id=clinic_id, **scope)
                              .select_related("created_by").order_by("-revision")[:limit]))

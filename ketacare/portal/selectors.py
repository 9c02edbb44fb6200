"""Reading portal records for staff: always scoped to the asking user's clinic and role."""

import datetime as dt

from ketacare.accounts.roles import Perm
from ketacare.portal import choices as c
from ketacare.portal.domain.adherence import Adherence, summarize
from ketacare.portal.domain.schedule import ItemState, item_state
from ketacare.portal.models import ContactPreference, DueItem


def state_of(item: DueItem, now: dt.datetime) -> ItemState:
    return item_state(opens_at=item.opens_at, due_at=item.due_at, expires_at=item.expires_at,
                      completed=item.status == c.DueStatus.COMPLETED,
                      cancelled=item.status == c.DueStatus.CANCELLED, now=now)


def _items_visible_to(user):
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return DueItem.objects.none()
    return DueItem.objects.filter(clinic_id=user.clinic_id)


def due_items_for(*, user, patient, now: dt.datetime) -> list[tuple[DueItem, ItemState]]:
    """The patient's items (cancelled ones left out) with where each stands at `now`."""
    rows = _items_visible_to(user).filter(patient_id=patient.pk).exclude(status=c.DueStatus.CANCELLED)
    return [(item, state_of(item, now)) for item in rows.order_by("target_at", "id")]


def adherence_for_patient(*, user, patient, now: dt.datetime) -> Adherence:
    return summarize(state for _item, state in due_items_for(user=user, patient=patient, now=now))


def adherence_for_clinic(*, user, now: dt.datetime) -> tuple[Adherence, list[dict]]:
    """The clinic's totals and one row per patient (id, name for staff, counts), worst response rate first."""
    rows = _items_visible_to(user).exclude(status=c.DueStatus.CANCELLED).select_related("patient")
    per_patient: dict[int, dict] = {}
    states: list[ItemState] = []
    for item in rows:
        state = state_of(item, now)
        states.append(state)
        entry = per_patient.setdefault(item.patient_id, {"patient": item.patient, "states": []})
        entry["states"].append(state)
    table = [{"patient": e["patient"], "adherence": summarize(e["states"])} for e in per_patient.values()]
    table.sort(key=lambda r: (r["adherence"].response_rate if r["adherence"].response_rate is not None else 2,
                              r["patient"].pk))
    return summarize(states), table


def contact_get_for(*, user, patient) -> ContactPreference | None:
    if not user.has_perm_to(Perm.PATIENT_VIEW) or user.clinic_id != patient.clinic_id:
        return None
    return ContactPreference.objects.filter(patient_id=patient.pk).first()

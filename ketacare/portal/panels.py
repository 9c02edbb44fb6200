"""The portal's section of the patient chart: contact preferences (staff see them) and the home schedule."""

from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.portal import selectors


def panel_context(request, patient) -> dict:
    user, now = request.user, clock.now()
    contact = selectors.contact_get_for(user=user, patient=patient)
    context = {"contact": contact, "can_edit": user.has_perm_to(Perm.PATIENT_EDIT), "adherence": None,
               "upcoming": []}
    if user.has_perm_to(Perm.CLINICAL_VIEW):
        items = selectors.due_items_for(user=user, patient=patient, now=now)
        context["adherence"] = selectors.adherence_for_patient(user=user, patient=patient, now=now) if items else None
        context["upcoming"] = [(i, s.value) for i, s in items if s.value in ("upcoming", "open", "overdue")][:8]
    return context  # the chart's own "patient viewed" event covers this panel, as for the other panels

"""Safety alerts API (issue 3 contract): list the clinic's alerts, acknowledge one with the action taken."""

from typing import Literal

from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.roles import Perm
from ketacare.safety import selectors, services
from ketacare.safety.schemas import AcknowledgeIn, AlertOut

router = Router(tags=["safety"])


@router.get("/alerts", response=list[AlertOut], auth=api_perm(Perm.CLINICAL_VIEW))
@paginate(LimitOffsetPagination)
def alerts_list(request, status: Literal["open", "acknowledged"] | None = None, patient_id: int | None = None):
    """The clinic's alerts, open and most urgent first."""
    alerts = selectors.alerts_for(user=request.auth, status=status).prefetch_related("findings")
    if patient_id is not None:
        alerts = alerts.filter(patient_id=patient_id)
    services.alerts_listed(actor=request.auth, count=alerts.count(), status=status or "all", via="api")
    return alerts


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut, auth=api_perm(Perm.ALERT_ACKNOWLEDGE))
def alert_acknowledge(request, alert_id: int, payload: AcknowledgeIn):
    """Record who acknowledged, when, and the action taken. 409 if already acknowledged."""
    alert = selectors.alert_get_for(user=request.auth, alert_id=alert_id)
    return services.alert_acknowledge(alert=alert, actor=request.auth, action=payload.action or "")

"""The demo clinic's on-call rota: the nurse on call this week with the prescriber as backup and fallback, both with
a mobile number (fake, 555-01xx), so that an urgent alert in the demo reaches someone and escalates."""

import datetime as dt

from django.utils import timezone

from ketacare.core import clock
from ketacare.core.revisions import current_revision
from ketacare.safety import services
from ketacare.safety.models import OnCallSetting, OnCallShift


def seed_oncall(clinic, users, today) -> None:
    admin, nurse, prescriber = users["admin"], users["nurse"], users["prescriber"]
    services.staff_contact_set(actor=admin, user=nurse, mobile_e164="+15550100101")
    services.staff_contact_set(actor=admin, user=prescriber, mobile_e164="+15550100102")
    if current_revision(OnCallSetting, clinic_id=clinic.pk) is None:
        services.oncall_setting_revise(actor=admin, fallback_clinician=prescriber, escalation_delay_minutes=15,
                                       reason="Demo: the prescriber covers when nobody is on call.")
    start = timezone.make_aware(dt.datetime.combine(today, dt.time(0, 0)))
    if not OnCallShift.objects.filter(clinic=clinic, starts_at__lte=clock.now(), ends_at__gt=clock.now()).exists():
        services.oncall_shift_add(actor=admin, clinician=nurse, backup=prescriber, starts_at=start,
                                  ends_at=start + dt.timedelta(days=7))

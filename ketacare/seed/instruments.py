"""Demo questionnaires: baseline and follow-up PHQ-9 / GAD-7 / LSAS-SR trajectories for a few demo patients, one
acknowledged and one open PHQ-9 item 9 alert. Idempotent: nothing is added once the demo responses exist."""

import datetime as dt
from decimal import Decimal

from ketacare.core import clock
from ketacare.instruments import services
from ketacare.instruments.domain.model import Instrument
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.instruments.selectors import shipped_instruments
from ketacare.patients.models import Patient
from ketacare.safety.services import alert_acknowledge

DEMO_CONTEXT = "demo"
PHQ9_ITEM9 = "/44260-8"

# (patient number, instrument, [(days ago, total)], item 9 of the last PHQ-9)
TRAJECTORIES = [
    (1, "phq-9", [(56, 19), (42, 13), (28, 8), (7, 4)]),
    (1, "gad-7", [(56, 16), (42, 11), (28, 7), (7, 4)]),
    (1, "lsas-sr", [(56, 92), (28, 64), (7, 51)]),
    (2, "phq-9", [(35, 14), (21, 12), (7, 11)]),
    (2, "gad-7", [(35, 12), (21, 12), (7, 10)]),
    (2, "lsas-sr", [(35, 78), (7, 70)]),
    (3, "gad-7", [(21, 17), (3, 8)]),
    (3, "lsas-sr", [(21, 101), (3, 66)]),
    (4, "phq-9", [(14, 22)]),
]


def seed_questionnaires(clinic, users, today) -> None:
    if QuestionnaireResponse.objects.filter(clinic=clinic, context=DEMO_CONTEXT).exists():
        return
    nurse, prescriber = users["nurse"], users["prescriber"]
    instruments = shipped_instruments()
    now = clock.now().replace(second=0, microsecond=0)
    patients = {n: Patient.objects.filter(clinic=clinic, mrn=f"{clinic.code.upper()}-{n:06d}").first()
                for n in range(1, 6)}
    for number, key, series in TRAJECTORIES:
        patient = patients[number]
        if patient is None:
            continue
        for days_ago, total in series:
            services.response_record(
                patient=patient, actor=nurse, instrument_key=key, mode="self_report", context=DEMO_CONTEXT,
                answers=spread(instruments[key], total, fixed={PHQ9_ITEM9: 0} if key == "phq-9" else None),
                answered_at=now - dt.timedelta(days=days_ago, hours=2))
    # Patient 4: item 9 "several days" at baseline two weeks ago, assessed and acknowledged the same morning.
    first = QuestionnaireResponse.objects.filter(patient=patients[4], instrument_key="phq-9").first()
    if patients[4] is not None and first is not None:
        amended = services.response_amend(
            original=first, actor=nurse, reason="Item 9 entered as 0; the patient had answered \"several days\".",
            answers=spread(instruments["phq-9"], 22, fixed={PHQ9_ITEM9: 1}))
        for alert in patients[4].alerts.filter(source_id=amended.pk, status="open"):
            alert_acknowledge(alert=alert, actor=prescriber, action=(
                "C-SSRS screen by the prescriber: low risk (passive wish only, no plan or intent). Safety plan "
                "reviewed and given; 988 card given; infusion may proceed."))
    # Patient 5: today's PHQ-9 with item 9 "more than half the days": the open alert of the demo.
    if patients[5] is not None:
        services.response_record(
            patient=patients[5], actor=nurse, instrument_key="phq-9", mode="self_report", context=DEMO_CONTEXT,
            answers=spread(instruments["phq-9"], 17, fixed={PHQ9_ITEM9: 2}), answered_at=now - dt.timedelta(hours=1))


def spread(instrument: Instrument, total: int, fixed: dict[str, int] | None = None) -> dict[str, int | str]:
    """Answers whose scored items add up to `total`, spread evenly (fixed items keep their value); unscored items
    get their first option."""
    fixed = fixed or {}
    free = [i for i in instrument.scored_items if i.link_id not in fixed]
    remaining = Decimal(total) - sum((Decimal(v) for v in fixed.values()), Decimal(0))
    answers: dict[str, int | str] = dict(fixed)
    for n, item in enumerate(free):
        assert item.weight_range is not None  # scored items have weights
        low, high = item.weight_range
        share = min(high, max(low, (remaining / (len(free) - n)).to_integral_value()))
        answers[item.link_id] = int(share)
        remaining -= share
    for item in instrument.items:
        if not item.scored and item.options:
            answers[item.link_id] = item.options[0].code
    return answers

"""Demo data for screening (synthetic): published consent documents for both routes and demo patients at every
intake stage. Idempotent: a document or a patient's intake that already exists is left alone.

RKC-000001 approved + consented for IV ketamine, RKC-000002 for esketamine, RKC-000003 for both (all signed and
consented 60 days ago, so treatment courses may start any day since); RKC-000004 evaluated, awaiting the
prescriber's signature; RKC-000005 declined (uncontrolled hypertension); RKC-000006 intake in progress;
RKC-000007 exclusion overridden, awaiting a second prescriber's co-signature.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ketacare.core import clock
from ketacare.patients.models import Patient
from ketacare.screening import selectors, services
from ketacare.screening.models import ConsentDocument, Intake

CONSENT_TEXT = {
    "iv-ketamine": (
        "Consent to intravenous ketamine treatment",
        "Ketamine is approved as an anaesthetic. Its use for depression and anxiety is off-label: it is supported "
        "by clinical studies, but the FDA has not approved it for these conditions.\n\n"
        "Each infusion lasts about 40 minutes and is given by a trained clinician while your blood pressure, heart "
        "rate and oxygen level are monitored. You stay until the effects have passed.\n\n"
        "Common effects during and shortly after an infusion: feeling detached or unreal (dissociation), "
        "drowsiness, nausea, dizziness, and a rise in blood pressure that usually settles within an hour or two. "
        "Ketamine can be misused; tell us about any past or current substance use.\n\n"
        "Do not drive, operate machinery or make important decisions for the rest of the day. An adult must take "
        "you home.\n\n"
        "You may stop treatment and withdraw this consent at any time, without affecting your other care."),
    "esketamine": (
        "Consent to esketamine (SPRAVATO) nasal spray treatment",
        "Esketamine nasal spray is approved for treatment-resistant depression and for depression with acute "
        "suicidal thoughts or behaviour. It is given only in a certified clinic under the SPRAVATO REMS programme, "
        "in which you will be enrolled before your first treatment.\n\n"
        "You use the spray yourself under supervision and stay in the clinic for at least 2 hours afterwards, until "
        "a clinician confirms that sedation, dissociation and any breathing effects have resolved. Your blood "
        "pressure is checked before the dose, about 40 minutes after it and before you leave.\n\n"
        "Common effects: dissociation, dizziness, nausea, sleepiness, a rise in blood pressure, and rarely slowed "
        "breathing. Esketamine can be misused.\n\n"
        "Do not drive or operate machinery until the next day after a restful sleep.\n\n"
        "You may stop treatment and withdraw this consent at any time, without affecting your other care."),
}

CLEAN_HISTORY = dict.fromkeys(selectors.BOOL_FACT_FIELDS, False)
TRD_TRIALS = (
    {"name": "sertraline", "kind": "oral_antidepressant", "dose_mg_per_day": Decimal("150"), "duration_weeks": 10,
     "adequate": True, "response": "partial", "current_episode": True},
    {"name": "venlafaxine", "kind": "oral_antidepressant", "dose_mg_per_day": Decimal("225"), "duration_weeks": 8,
     "adequate": True, "response": "none", "current_episode": True},
    {"name": "Cognitive behavioural therapy", "kind": "psychotherapy", "duration_weeks": 16, "adequate": True,
     "response": "partial", "current_episode": True},
)
PHQ9_ITEMS = ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3")
PHQ9_CODES = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


@contextlib.contextmanager
def _as_of(moment: dt.datetime):
    """Record demo history as if it happened at `moment` (every service reads the time from `clock`)."""
    real_now, real_today = clock.now, clock.today
    clock.now = lambda: moment
    clock.today = lambda: timezone.localdate(moment)
    try:
        yield
    finally:
        clock.now, clock.today = real_now, real_today


@transaction.atomic
def seed_screening(clinic, users, today) -> None:
    admin, nurse, prescriber = users["admin"], users["nurse"], users["prescriber"]
    now = clock.now().replace(second=0, microsecond=0)
    for route, (title, body) in CONSENT_TEXT.items():
        if not ConsentDocument.objects.filter(clinic=clinic, route=route, version="1.0").exists():
            with _as_of(now - dt.timedelta(days=400)):
                document = services.consent_document_create(
                    actor=admin, route=route, version="1.0", title=title, body=body, effective_on=clock.today())
                services.consent_document_publish(actor=admin, document=document)

    def patient(number: int) -> Patient | None:
        found = Patient.objects.filter(clinic=clinic, mrn=f"{clinic.code.upper()}-{number:06d}").first()
        return None if found is None or Intake.objects.filter(patient=found).exists() else found

    long_ago = now - dt.timedelta(days=60)
    for number, routes in ((1, ["iv-ketamine"]), (2, ["esketamine"]), (3, ["iv-ketamine", "esketamine"])):
        if (p := patient(number)) is not None:
            with _as_of(long_ago):
                _complete_intake(p, nurse, weight=("176.4", "lb") if number == 2 else ("72.5", "kg"))
                decisions = {d.route: d for d in services.eligibility_evaluate(actor=nurse, patient=p)}
                for route in routes:
                    _sign_approval(decisions[route], prescriber)
                    services.consent_record(actor=nurse, patient=p, route=route, witness=nurse,
                                            typed_name=f"{p.given_name} {p.family_name}")
    if (p := patient(4)) is not None:
        with _as_of(now - dt.timedelta(hours=3)):
            _complete_intake(p, nurse, weight=("68", "kg"))
            services.eligibility_evaluate(actor=nurse, patient=p)
    if (p := patient(5)) is not None:
        with _as_of(now - dt.timedelta(days=6)):
            _complete_intake(p, nurse, weight=("91", "kg"), changes={"hypertension": True,
                                                                     "hypertension_uncontrolled": True},
                             vitals=(172, 104, 88))
            for decision in services.eligibility_evaluate(actor=nurse, patient=p):
                services.decision_sign(actor=prescriber, decision=decision, outcome="decline", justification=(
                    "Uncontrolled hypertension (172/104 today, on two agents). Refer back to primary care for BP "
                    "control; re-assess in 3 months."))
    if (p := patient(6)) is not None:
        with _as_of(now - dt.timedelta(days=1)):
            services.intake_update(actor=nurse, patient=p, referring_clinician="Dr Helen Park",
                                   referring_organization="Riverside Family Practice",
                                   referral_reason="Generalized social anxiety disorder; no response to two SSRIs.",
                                   referral_received_on=clock.today() - dt.timedelta(days=5),
                                   psychosis_history=False, mania_or_bipolar_history=False)
            services.diagnosis_add(actor=nurse, patient=p, code="F40.11")
    if (p := patient(7)) is not None:
        with _as_of(now - dt.timedelta(days=2)):
            _complete_intake(p, nurse, weight=("80", "kg"), changes={"arteriovenous_malformation": True})
            decisions = {d.route: d for d in services.eligibility_evaluate(actor=nurse, patient=p)}
            services.decision_sign(actor=prescriber, decision=decisions["esketamine"], outcome="override",
                                   justification=(
                                       "Small AVM fully embolised in 2019, stable on MRI 2025; neurosurgery letter "
                                       "on file supports treatment. Needs a second prescriber's co-signature."))


def _complete_intake(p, nurse, *, weight, changes=None, vitals=(124, 78, 72)) -> None:
    today = clock.today()
    services.intake_update(
        actor=nurse, patient=p, referring_clinician="Dr Helen Park", referring_organization="Riverside Family Practice",
        referral_reason="Treatment-resistant depression with social anxiety disorder.",
        referral_received_on=today - dt.timedelta(days=10), **{**CLEAN_HISTORY, **(changes or {})},
        weight_entered=Decimal(weight[0]), weight_unit=weight[1], height_entered=Decimal("68"), height_unit="in",
        measured_on=today, systolic_mmhg=vitals[0], diastolic_mmhg=vitals[1], heart_rate_bpm=vitals[2],
        spo2_pct=98, vitals_taken_at=clock.now())
    for code in ("F33.1", "F40.11"):
        services.diagnosis_add(actor=nurse, patient=p, code=code)
    for trial in TRD_TRIALS:
        services.trial_add(actor=nurse, patient=p, **trial)
    services.medication_add(actor=nurse, patient=p, name="bupropion XL", dose="300 mg daily")
    services.intake_update(actor=nurse, patient=p, diagnoses_complete=True, medications_complete=True,
                           trials_complete=True)
    _baseline_questionnaires(p, nurse)


def _baseline_questionnaires(p, nurse) -> None:
    """A C-SSRS screener (no risk) and, unless the patient already has one, a PHQ-9 with item 9 = 0."""
    from ketacare.instruments.selectors import latest_responses
    from ketacare.instruments.services import response_record

    at = clock.now() - dt.timedelta(hours=1)
    existing = latest_responses(patient=p)
    if "cssrs-screen" not in existing:
        response_record(patient=p, actor=nurse, instrument_key="cssrs-screen", mode="clinician", answered_at=at,
                        answers={"1": "no", "2": "no", "6": "no"})
    if "phq-9" not in existing:
        answers = {link_id: PHQ9_CODES[2] for link_id in PHQ9_ITEMS}
        answers["/44260-8"] = PHQ9_CODES[0]
        answers["/69722-7"] = "LA6573-5"
        response_record(patient=p, actor=nurse, instrument_key="phq-9", mode="self_report", answered_at=at,
                        answers=answers)


def _sign_approval(decision, prescriber) -> None:
    justification = ""
    if decision.status == "eligible_with_cautions":
        justification = "Cautions reviewed with the patient; monitoring per protocol."
    services.decision_sign(actor=prescriber, decision=decision, outcome="approve", justification=justification)

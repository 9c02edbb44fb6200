"""The simulation of one patient's history: intake, courses, sessions, questionnaires on schedule, alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db import models

from ketacare.outcomes import selectors as outcome_selectors
from ketacare.outcomes.domain.summary import CourseFacts, summarize_course
from ketacare.outcomes.domain.trajectory import Measurement
from ketacare.seed.names import FAMILY, GIVEN
from ketacare.seed.synth.answers import (
    AnswerBank,
)
from ketacare.seed.synth.bulk import (
    UTC,
    BulkWriter,
)
from ketacare.treatment.choices import Route

REFERRERS = ["Dr. Morgan Ellis", "Dr. Sam Okafor", "Dr. Priya Natarajan", "Dr. Lee Whitcombe", "Dr. Ana Ruiz"]
PRACTICES = ["Harbor Family Practice", "Northside Psychiatry", "City Health Partners", "Lakeview Medical Group"]
SIDE_EFFECTS = [("dissociation", 0.45), ("dizziness", 0.25), ("nausea", 0.15), ("headache", 0.10),
                ("sedation", 0.10), ("blurred_vision", 0.07), ("anxiety", 0.05), ("vomiting", 0.02)]
ESK_EFFECTS = [("dysgeusia", 0.15), ("vertigo", 0.12), ("hypoesthesia", 0.10)]
PROFILES = [("mdd", 0.45, ("F33.1",)), ("mdd_gad", 0.25, ("F33.1", "F41.1")), ("sad", 0.20, ("F40.10", "F32.1")),
            ("gad", 0.10, ("F41.1",))]


@dataclass
class ClinicCtx:
    clinic_id: int
    code: str
    prescribers: list[int]
    nurses: list[int]
    documents: dict[str, int]  # screening route -> consent document id
    next_mrn: int


@dataclass
class Sim:
    """What the simulation knows about one patient, to build the summary without reading the database back."""

    patient_id: int
    clinic_id: int
    courses: list[dict] = field(default_factory=list)
    doses_by_course: dict[int, list[tuple[int, str, dt.datetime]]] = field(default_factory=lambda: defaultdict(list))
    checks: dict[int, list[tuple[dt.datetime, list[str]]]] = field(default_factory=lambda: defaultdict(list))
    adverse: dict[int, list[tuple[bool, dt.datetime, dt.datetime | None]]] = field(
        default_factory=lambda: defaultdict(list))
    alerts: list[tuple[str, dt.datetime, dt.datetime | None]] = field(default_factory=list)
    measurements: dict[str, list[Measurement]] = field(default_factory=lambda: defaultdict(list))
    codes: list[str] = field(default_factory=list)
    ideation: bool = False
    weight_kg: float = 70.0


def _kind_of(codes: list[str]) -> str:
    """The simulation profile that fits stored diagnoses (social anxiety, GAD, depression with or without GAD)."""
    joined = " ".join(codes)
    if "F40.1" in joined:
        return "sad"
    depression = any(c.startswith(("F32", "F33")) for c in codes)
    gad = "F41.1" in joined
    return "mdd_gad" if depression and gad else "gad" if gad else "mdd"


def _clip(value: float, low: float, high: float) -> int:
    return int(max(low, min(high, round(value))))


class Generator:
    def __init__(self, *, writer: BulkWriter, bank: AnswerBank, today: dt.date, seed: int) -> None:
        self.w, self.bank, self.today = writer, bank, today
        self.now = dt.datetime.combine(today, dt.time(18, 0), tzinfo=UTC)
        self.rng = random.Random(seed)
        self.definitions = outcome_selectors.DEFAULT_DEFINITIONS
        self.sims: list[Sim] = []
        self._models: dict[str, type] = {}
        self.cohort_keys: dict = {}

    # -- tables --
    def _m(self, label: str):
        model = self._models.get(label)
        if model is None:
            model = self._models[label] = apps.get_model(label)
        return model

    def patient(self, ctx: ClinicCtx, *, first_dose: dt.datetime, weekly_years: float | None = None,
                existing: tuple[int, str, str] | None = None, profile: str | None = None,
                showcase: bool = False) -> Sim:
        """One patient's whole history up to today; `existing` = (id, given, family) of a patient already stored
        (their intake, if any, is kept)."""
        rng, w = self.rng, self.w
        m = self._m
        created = first_dose - dt.timedelta(days=rng.randint(14, 40))
        if existing is None:
            pid = w.new_id(m("patients.Patient"))
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            mrn = f"{ctx.code.upper()}-S{ctx.next_mrn:07d}"
            ctx.next_mrn += 1
            dob = dt.date(self.today.year - rng.randint(19, 80), rng.randint(1, 12), rng.randint(1, 28))
            w.add(m("patients.Patient"), id=pid, clinic_id=ctx.clinic_id, mrn=mrn, given_name=given,
                  family_name=family, date_of_birth=dob, sex=rng.choice(["female", "male", "female", "other"]),
                  phone=f"+1 617 555 {rng.randint(1000, 9999)}", email="", address_line="", city="Boston",
                  state="MA", postal_code=f"02{rng.randint(100, 199)}", emergency_contact_name="",
                  emergency_contact_phone="", created_at=created, updated_at=created)
            has_intake = False
        else:
            pid, given, family = existing
            has_intake = m("screening.Intake").objects.filter(patient_id=pid).exists()
        sim = Sim(pid, ctx.clinic_id)
        self.sims.append(sim)
        chosen = rng.choices(PROFILES, weights=[p[1] for p in PROFILES])[0]
        picked = next((p for p in PROFILES if p[0] == profile), chosen)
        kind, codes = picked[0], list(picked[2])
        sim.weight_kg = round(rng.uniform(55, 110), 1)
        sim.codes = codes
        prescriber, nurse = rng.choice(ctx.prescribers), rng.choice(ctx.nurses)
        # Intake, diagnoses, eligibility, consent.
        if has_intake:
            stored = list(m("screening.Diagnosis").objects.filter(intake__patient_id=pid).values_list("code",
                                                                                                       flat=True))
            if stored:
                sim.codes = stored
                kind = _kind_of(stored)
        else:
            intake_id = w.new_id(m("screening.Intake"))
            w.add(m("screening.Intake"), id=intake_id, clinic_id=ctx.clinic_id, patient_id=pid,
                  referring_clinician=rng.choice(REFERRERS), referring_organization=rng.choice(PRACTICES),
                  referral_reason="Depression and anxiety not responding to two or more treatments",
                  referral_received_on=(created - dt.timedelta(days=7)).date(), psychosis_history=False,
                  mania_or_bipolar_history=False, substance_use_disorder_history=False, pregnant=False,
                  diagnoses_complete=True, medications_complete=True, trials_complete=True,
                  created_at=created, updated_at=created, updated_by_id=prescriber)
            for code in codes:
                w.add(m("screening.Diagnosis"), id=w.new_id(m("screening.Diagnosis")), clinic_id=ctx.clinic_id,
                      intake_id=intake_id, code=code, note="")
        # A showcase patient is a long-term responder on IV boosters (demo, benchmarks).
        esketamine = kind in ("mdd", "mdd_gad") and rng.random() < 0.45 and not showcase
        route = Route.INTRANASAL.value if esketamine else Route.INTRAVENOUS.value
        screening_route = "esketamine" if esketamine else "iv-ketamine"
        decided = created + dt.timedelta(days=rng.randint(2, 10))
        facts = {"synthetic": True, "route": screening_route}
        w.add(m("screening.EligibilityDecision"), id=w.new_id(m("screening.EligibilityDecision")),
              clinic_id=ctx.clinic_id, patient_id=pid, route=screening_route, evaluated_at=decided,
              evaluated_on=decided.date(), evaluated_by_id=prescriber, ruleset_version="synthetic", status="eligible",
              findings=[], missing_facts=[], facts=facts,
              facts_digest=hashlib.sha256(json.dumps(facts).encode()).hexdigest(), params={}, sources={},
              outcome="approve", justification="", signed_by_id=prescriber, signed_at=decided)
        w.add(m("screening.PatientConsent"), id=w.new_id(m("screening.PatientConsent")), clinic_id=ctx.clinic_id,
              patient_id=pid, document_id=ctx.documents[screening_route], route=screening_route,
              typed_name=f"{given} {family}", signed_at=decided + dt.timedelta(hours=1), witness_id=nurse,
              recorded_by_id=nurse)
        self._treatment(sim, ctx, kind=kind, route=route, first_dose=first_dose, prescriber=prescriber, nurse=nurse,
                        weekly_years=weekly_years, showcase=showcase)
        return sim

    def _treatment(self, sim: Sim, ctx: ClinicCtx, *, kind: str, route: str, first_dose: dt.datetime,
                   prescriber: int, nurse: int, weekly_years: float | None, showcase: bool = False) -> None:
        rng = self.rng
        iv = route == Route.INTRAVENOUS.value
        depression = _clip(rng.gauss(18, 4), 8, 27) if kind != "gad" else _clip(rng.gauss(11, 4), 3, 22)
        anxiety = _clip(rng.gauss(15, 3), 6, 21) if kind in ("mdd_gad", "gad", "sad") else _clip(rng.gauss(10, 4),
                                                                                               2, 21)
        lsas = _clip(rng.gauss(88, 15), 45, 140) if kind == "sad" else None
        responsiveness = 0.85 if showcase else rng.betavariate(2.8, 1.5)
        sim.ideation = rng.random() < 0.3  # a minority ever report suicidal thoughts
        durability = rng.lognormvariate(math.log(40 if iv else 80), 0.6)  # days the benefit takes to halve
        tau = 4.0 if iv else 9.0
        # The dosing plan: an induction series, then boosters (IV) or continuation/maintenance (esketamine).
        if iv:
            protocol = "iv-ketamine-induction@1"
            offsets = [0, 2, 4, 7, 9, 11]
            phases = ["induction"] * 6
        elif rng.random() < 0.15:
            protocol = "esketamine-mdsi@1"
            offsets = [0, 3, 7, 10, 14, 17, 21, 24]
            phases = ["induction"] * 8
        else:
            protocol = "esketamine-trd@1"
            offsets = [0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49]
            phases = ["induction"] * 8 + ["weeks 5-8"] * 4
            extra = rng.randint(0, 10)
            offsets += [49 + 14 * (n + 1) for n in range(extra)]
            phases += ["maintenance"] * extra
        horizon_days = int(weekly_years * 365) if weekly_years else rng.randint(42, 365)
        end_of_follow_up = min(self.now - dt.timedelta(hours=2), first_dose + dt.timedelta(days=horizon_days))
        dropout_after = rng.randint(1, 5) if rng.random() < 0.08 and not showcase else None
        if dropout_after is not None:
            offsets, phases = offsets[:dropout_after], phases[:dropout_after]
        doses = [first_dose + dt.timedelta(days=d) for d in offsets]
        doses = [d for d in doses if d < self.now - dt.timedelta(hours=4)]
        if not doses:
            doses = [first_dose]
        phases = phases[:len(doses)]

        def benefit_at(t: dt.datetime, given: list[dt.datetime]) -> float:
            """Fraction of baseline severity relieved at t, given the doses so far."""
            past = [d for d in given if d <= t]
            if not past:
                return 0.0
            start, last = past[0], past[-1]
            gained = responsiveness * (1 - math.exp(-((last - start).total_seconds() / 86400 + 1.5) / tau))
            fade = 0.5 ** (((t - last).total_seconds() / 86400) / durability)
            return gained * fade

        # IV boosters: when the benefit has faded to less than half of its peak, a booster a few days later.
        boosters: list[dt.datetime] = []
        if iv and dropout_after is None and (showcase or rng.random() < 0.55):
            cursor = doses[-1]
            for _ in range(60 if showcase else rng.randint(1, 3)):
                peak = benefit_at(cursor, doses + boosters)
                wait = durability + rng.uniform(2, 10)
                at = cursor + dt.timedelta(days=wait)
                if at >= end_of_follow_up or peak <= 0:
                    break
                at = at.replace(hour=rng.choice([9, 10, 11, 13, 14]), minute=0)
                boosters.append(at)
                cursor = at
        all_doses = doses + boosters

        def severity(base: int, top: int, t: dt.datetime) -> int:
            return _clip(base * (1 - 0.9 * benefit_at(t, all_doses)) + rng.gauss(0, 1.4), 0, top)

        self._course(sim, ctx, protocol=protocol, route=route, doses=doses, phases=phases, prescriber=prescriber,
                     dropped=dropout_after is not None, end=end_of_follow_up)
        if boosters:
            self._course(sim, ctx, protocol="iv-ketamine-maintenance@1", route=route, doses=boosters,
                         phases=["maintenance"] * len(boosters), prescriber=prescriber, dropped=False,
                         end=end_of_follow_up)
        # Sessions: doses, vitals, side effects, adverse events, pre-dose questionnaires, VAS before and after.
        for course in sim.courses:
            for number, (session_id, _phase, dose_at) in enumerate(sim.doses_by_course[course["id"]], start=1):
                pre_at = dose_at - dt.timedelta(minutes=35)
                self._session_rows(sim, ctx, session_id=session_id, dose_at=dose_at, number=number, iv=iv,
                                   nurse=nurse, prescriber=prescriber)
                self._response(sim, ctx, "phq-9", severity(depression, 27, pre_at), dose_at - dt.timedelta(
                    minutes=35), nurse, session_id=session_id, timing="pre")
                if kind != "mdd":
                    self._response(sim, ctx, "gad-7", severity(anxiety, 21, pre_at), dose_at - dt.timedelta(
                        minutes=34), nurse, session_id=session_id, timing="pre")
                if iv and kind in ("sad", "gad", "mdd_gad"):
                    pre = _clip(anxiety / 21 * 100 * (1 - 0.6 * benefit_at(dose_at - dt.timedelta(minutes=1),
                                                                            all_doses)) + rng.gauss(0, 6), 0, 100)
                    post = _clip(pre * (1 - (0.15 + 0.6 * responsiveness)) + rng.gauss(0, 5), 0, 100)
                    self._response(sim, ctx, "vas-anxiety", pre, dose_at - dt.timedelta(minutes=30), nurse,
                                   session_id=session_id, timing="pre")
                    self._response(sim, ctx, "vas-anxiety", post, dose_at + dt.timedelta(hours=3), nurse,
                                   session_id=session_id, timing="post", offset=3)
        # Baseline questionnaires before the first dose, then weekly self-report follow-up between and after.
        baseline_at = first_dose - dt.timedelta(days=rng.randint(2, 9), hours=rng.randint(0, 5))
        self._response(sim, ctx, "phq-9", severity(depression, 27, baseline_at), baseline_at, nurse)
        self._response(sim, ctx, "gad-7", severity(anxiety, 21, baseline_at), baseline_at + dt.timedelta(minutes=6),
                       nurse)
        if lsas is not None:
            self._response(sim, ctx, "lsas-sr", lsas, baseline_at + dt.timedelta(minutes=12), nurse)
        dose_days = {d.date() for d in all_doses}
        at = first_dose + dt.timedelta(days=7, hours=rng.randint(-2, 6))
        week = 0
        while at < end_of_follow_up:
            if at.date() not in dose_days and at.date() - dt.timedelta(days=1) not in dose_days:
                self._response(sim, ctx, "phq-9", severity(depression, 27, at), at, None)
                if kind != "mdd" or weekly_years:
                    self._response(sim, ctx, "gad-7", severity(anxiety, 21, at), at + dt.timedelta(minutes=4), None)
                if lsas is not None and week % 4 == 1:
                    self._response(sim, ctx, "lsas-sr", _clip(lsas * (1 - 0.8 * benefit_at(at, all_doses))
                                                              + rng.gauss(0, 5), 0, 144),
                                   at + dt.timedelta(minutes=8), None)
            week += 1
            at += dt.timedelta(days=7 if (weekly_years or week < 12) else 14)

    def _course(self, sim: Sim, ctx: ClinicCtx, *, protocol: str, route: str, doses: list[dt.datetime],
                phases: list[str], prescriber: int, dropped: bool, end: dt.datetime) -> int:
        m, w, rng = self._m, self.w, self.rng
        course_id = w.new_id(m("treatment.Course"))
        start = doses[0]
        planned_total = outcome_selectors.induction_planned(protocol) or len(doses)
        finished = dropped or (len(doses) >= planned_total and (self.now - doses[-1]).days > 21)
        status = "stopped" if dropped else ("completed" if finished else "active")
        ended_at = (doses[-1] + dt.timedelta(days=rng.randint(3, 14))) if status != "active" else None
        if ended_at and ended_at > self.now:
            ended_at = self.now - dt.timedelta(hours=1)
        w.add(m("treatment.Course"), id=course_id, clinic_id=ctx.clinic_id, patient_id=sim.patient_id,
              protocol_ref=protocol, route=route, status=status, start_on=start.date(), open_ended_cycles=0,
              clearance={"ok": True, "synthetic": True}, created_by_id=prescriber,
              created_at=start - dt.timedelta(days=2), ended_at=ended_at,
              ended_by_id=prescriber if ended_at else None,
              end_reason="Stopped during induction" if dropped else ("Course completed" if ended_at else ""))
        sim.courses.append({"id": course_id, "route": route, "protocol_ref": protocol, "status": status})
        for number, (dose_at, phase) in enumerate(zip(doses, phases, strict=True), start=1):
            session_id = w.new_id(m("treatment.DosingSession"))
            sim.doses_by_course[course_id].append((session_id, phase, dose_at))
            w.add(m("treatment.DosingSession"), id=session_id, clinic_id=ctx.clinic_id, course_id=course_id,
                  patient_id=sim.patient_id, number=number, phase=phase, planned_on=dose_at.date(), state="discharged",
                  state_changed_at=dose_at + dt.timedelta(hours=2, minutes=10), checked_in_at=dose_at - dt.timedelta(
                      minutes=45), first_dose_at=dose_at, dose_completed_at=dose_at + dt.timedelta(minutes=40),
                  discharged_at=dose_at + dt.timedelta(hours=2, minutes=10), escort_confirmed=True,
                  ready_to_leave_minutes=rng.randint(110, 150), vitals_count=3,
                  last_vitals_at=dose_at + dt.timedelta(minutes=120), note="", discharge_criteria=[],
                  created_at=start - dt.timedelta(days=2))
        if status == "active" and not dropped:  # the next planned session
            nxt = max(self.today + dt.timedelta(days=1), doses[-1].date() + dt.timedelta(days=3))
            w.add(m("treatment.DosingSession"), id=w.new_id(m("treatment.DosingSession")), clinic_id=ctx.clinic_id,
                  course_id=course_id, patient_id=sim.patient_id, number=len(doses) + 1,
                  phase=phases[-1] if phases else "induction", planned_on=nxt, state="scheduled",
                  created_at=start - dt.timedelta(days=2))
        return course_id

    def _session_rows(self, sim: Sim, ctx: ClinicCtx, *, session_id: int, dose_at: dt.datetime, number: int,
                      iv: bool, nurse: int, prescriber: int) -> None:
        m, w, rng = self._m, self.w, self.rng
        order_id = w.new_id(m("treatment.DoseOrder"))
        if iv:
            weight = sim.weight_kg
            mg = round(Decimal(str(weight)) * Decimal("0.5"), 1)
            w.add(m("treatment.DoseOrder"), id=order_id, clinic_id=ctx.clinic_id, session_id=session_id,
                  ordered_by_id=prescriber, ordered_at=dose_at - dt.timedelta(minutes=25), dose_mg=mg,
                  mg_per_kg=Decimal("0.500"), weight_basis="actual", dosing_weight_kg=Decimal(str(weight)),
                  concentration_mg_per_ml=Decimal("1.00"), infusion_minutes=40, working=[], issues=[])
            w.add(m("treatment.DoseAdministration"), id=w.new_id(m("treatment.DoseAdministration")),
                  clinic_id=ctx.clinic_id, session_id=session_id, order_id=order_id, mg=mg, given_at=dose_at,
                  lot_number=f"K{dose_at:%y%m}", given_by_id=nurse, recorded_at=dose_at, warnings=[])
        else:
            devices = 2 if number == 1 or rng.random() < 0.3 else 3
            w.add(m("treatment.DoseOrder"), id=order_id, clinic_id=ctx.clinic_id, session_id=session_id,
                  ordered_by_id=prescriber, ordered_at=dose_at - dt.timedelta(minutes=25),
                  dose_mg=Decimal(28 * devices), device_count=devices, working=[], issues=[])
            for device in range(1, devices + 1):
                given = dose_at + dt.timedelta(minutes=5 * (device - 1))
                w.add(m("treatment.DoseAdministration"), id=w.new_id(m("treatment.DoseAdministration")),
                      clinic_id=ctx.clinic_id, session_id=session_id, order_id=order_id, device_number=device,
                      mg=Decimal(28), given_at=given, lot_number=f"E{dose_at:%y%m}", given_by_id=nurse,
                      recorded_at=given, warnings=[])
        systolic, diastolic = rng.randint(112, 138), rng.randint(70, 88)
        cadss = max(0, round(rng.gauss(18 if iv else 14, 7) * (0.92 ** (number - 1))))
        moaas = 5 if rng.random() < 0.75 else (4 if rng.random() < 0.9 else 3)
        for minutes, sys_add, dia_add, peak in ((-20, 0, 0, False), (40, rng.randint(4, 22), rng.randint(2, 12),
                                                                        True), (120, rng.randint(-2, 6), 0, False)):
            w.add(m("treatment.VitalsReading"), id=w.new_id(m("treatment.VitalsReading")), clinic_id=ctx.clinic_id,
                  session_id=session_id, taken_at=dose_at + dt.timedelta(minutes=minutes),
                  systolic_mmhg=systolic + sys_add, diastolic_mmhg=diastolic + dia_add,
                  heart_rate_bpm=rng.randint(62, 92) + (6 if peak else 0), spo2_pct=rng.randint(95, 99),
                  resp_rate_per_min=rng.randint(12, 18), moaas=moaas if peak else 5,
                  cadss_total=min(92, cadss) if peak else (0 if minutes > 0 else None), pre_dose=minutes < 0,
                  recorded_by_id=nurse, recorded_at=dose_at + dt.timedelta(minutes=minutes + 1))
        effects = [k for k, p in SIDE_EFFECTS + ([] if iv else ESK_EFFECTS) if rng.random() < p]
        checks = [(dose_at + dt.timedelta(minutes=40), effects)]
        if effects:
            middle = [k for k in effects if rng.random() < 0.35]
            checks.append((dose_at + dt.timedelta(minutes=90), middle))
            checks.append((dose_at + dt.timedelta(minutes=120), [k for k in middle if rng.random() < 0.2]))
        for at, listed in checks:
            w.add(m("treatment.SideEffectCheck"), id=w.new_id(m("treatment.SideEffectCheck")), clinic_id=ctx.clinic_id,
                  session_id=session_id, at=at, effects=listed, other="", recorded_by_id=nurse)
            sim.checks[session_id].append((at, listed))
        if rng.random() < 0.012:
            serious = rng.random() < 0.08
            onset = dose_at + dt.timedelta(minutes=rng.randint(10, 60))
            resolved = onset + dt.timedelta(minutes=rng.randint(15, 240)) if rng.random() < 0.92 else None
            w.add(m("treatment.AdverseEvent"), id=w.new_id(m("treatment.AdverseEvent")), clinic_id=ctx.clinic_id,
                  session_id=session_id,
                  description="Prolonged sedation, observed overnight" if serious else "Blood pressure rise above "
                  "the protocol limit", severity="severe" if serious else "moderate", serious=serious,
                  onset_at=onset, resolved_at=resolved, action_taken="Monitored; prescriber informed",
                  recorded_by_id=nurse, recorded_at=onset + dt.timedelta(minutes=5),
                  resolution_recorded_by_id=nurse if resolved else None)
            sim.adverse[session_id].append((serious, onset, resolved))

    def _response(self, sim: Sim, ctx: ClinicCtx, key: str, total: int, at: dt.datetime, nurse: int | None, *,
                  session_id: int | None = None, timing: str = "", offset: int = 0) -> None:
        if at > self.now:
            return
        m, w, rng = self._m, self.w, self.rng
        item9 = 0
        if key == "phq-9" and total > 0:
            if sim.ideation:
                p = 0.5 if total >= 20 else 0.35 if total >= 15 else 0.15 if total >= 10 else 0.03
            else:
                p = 0.004
            if rng.random() < p:
                item9 = min(total, 1 if rng.random() < 0.75 else 2 if rng.random() < 0.8 else 3)
        scored = self.bank.get(key, total, item9=item9, pattern=rng.randint(0, 2))
        response_id = w.new_id(m("instruments.QuestionnaireResponse"))
        portal = nurse is None
        entered = at + dt.timedelta(minutes=2)
        w.add(m("instruments.QuestionnaireResponse"), id=response_id, clinic_id=ctx.clinic_id,
              patient_id=sim.patient_id, instrument_key=key, instrument_version=self.bank.version(key),
              answers=scored.answers, answered_at=at, mode="patient_portal" if portal else "self_report",
              context=(f"session:{session_id}" if session_id else "follow-up")[:64],
              entered_by_id=None if portal else nurse, entered_at=entered, status=scored.status, total=scored.total,
              band=scored.band, subscales=scored.subscales, missing=scored.missing, item_scores=scored.item_scores,
              amendment_reason="")
        if scored.total is not None and scored.status == "complete":
            sim.measurements[key].append(Measurement(at, scored.total))
        if session_id is not None:
            w.add(m("treatment.SessionMeasure"), id=w.new_id(m("treatment.SessionMeasure")), clinic_id=ctx.clinic_id,
                  session_id=session_id, response_id=response_id, instrument_key=key, timing=timing,
                  offset_hours=offset, linked_by_id=nurse, linked_at=entered)
        for code, severity, message in scored.alerts:
            acked = None
            if entered < self.now - dt.timedelta(hours=36) or rng.random() < 0.7:
                acked = entered + dt.timedelta(minutes=max(1.0, rng.lognormvariate(math.log(25), 0.9)))
                if acked > self.now:
                    acked = None
            user = rng.choice(ctx.nurses + ctx.prescribers)
            w.add(m("safety.Alert"), id=w.new_id(m("safety.Alert")), clinic_id=ctx.clinic_id, patient_id=sim.patient_id,
                  code=code, severity=severity, message=message[:500], source_type="questionnaire_response",
                  source_id=response_id, raised_at=entered, raised_by_id=None if portal else nurse,
                  status="acknowledged" if acked else "open", acknowledged_by_id=user if acked else None,
                  acknowledged_at=acked,
                  action_taken="Clinician called the patient; safety plan reviewed" if acked else "",
                  seconds_to_acknowledge=int((acked - entered).total_seconds()) if acked else None)
            sim.alerts.append((severity, entered, acked))

    # -- summaries (the same rows services.summaries_rebuild writes, from what was generated) --
    def summaries(self, computed_at: dt.datetime) -> None:
        from ketacare.outcomes.domain.summary import AdverseEventFact, AlertFact, side_effect_episodes
        from ketacare.outcomes.services import summary_rows

        m, w = self._m, self.w
        bands = {key: outcome_selectors.band_ranges(key) for key in self.definitions}
        for sim in self.sims:
            drug = [c for c in sim.courses if c["route"] in outcome_selectors.DRUG_ROUTES
                    and sim.doses_by_course[c["id"]]]
            if not drug:
                continue
            index = min(drug, key=lambda c: (min(at for _, _, at in sim.doses_by_course[c["id"]]), c["id"]))
            sessions = sorted(sim.doses_by_course[index["id"]], key=lambda s: s[2])
            start = sessions[0][2]
            later = sorted(at for c in drug if c is not index for _, _, at in sim.doses_by_course[c["id"]]
                           if at > start)
            induction = [at for _, phase, at in sessions if phase == "induction"]
            facts = CourseFacts(
                doses=[at for _, _, at in sessions], later_doses=later,
                measurements={k: v for k, v in sim.measurements.items() if k in self.definitions},
                induction_doses=induction or None,
                induction_planned=outcome_selectors.induction_planned(index["protocol_ref"]) if induction else None,
                closed=index["status"] != "active",
                sessions_with_side_effects=sum(1 for sid, _, _ in sessions if any(e for _, e in sim.checks[sid])),
                side_effects=[e for sid, _, _ in sessions for e in side_effect_episodes(sim.checks[sid])],
                adverse_events=[AdverseEventFact(serious, None if res is None else
                                                 int((res - onset).total_seconds()) // 60)
                                for sid, _, _ in sessions for serious, onset, res in sim.adverse[sid]],
                alerts=sorted((AlertFact(sev, raised, acked) for sev, raised, acked in sim.alerts
                               if raised >= start - dt.timedelta(days=1)), key=lambda a: a.raised_at),
                bands=bands)
            idx = outcome_selectors.IndexCourse(sim.patient_id, sim.clinic_id, index["id"], index["route"],
                                                index["protocol_ref"], outcome_selectors.diagnoses_text(sim.codes),
                                                facts)
            outcome, instruments, events = summary_rows(idx, summarize_course(facts, self.definitions),
                                                        now=computed_at, key_cache=self.cohort_keys)
            outcome_id = w.new_id(m("outcomes.PatientOutcome"))
            w.add(m("outcomes.PatientOutcome"), **_values(outcome, id=outcome_id))
            for row in instruments:
                w.add(m("outcomes.InstrumentOutcome"), **_values(row, id=w.new_id(m("outcomes.InstrumentOutcome")),
                                                                 outcome_id=outcome_id))
            for event in events:
                w.add(m("outcomes.EventOutcome"), **_values(event, id=w.new_id(m("outcomes.EventOutcome")),
                                                            outcome_id=outcome_id))
        self.sims = []


def _values(instance: models.Model, **extra) -> dict:
    values = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.attname != "id"}
    values.update(extra)
    return values

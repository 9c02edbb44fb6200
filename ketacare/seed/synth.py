"""Synthetic data at scale: a network of clinics with staff, patients (fake names), intake and diagnoses, signed
eligibility and consent, treatment courses, dosing sessions with doses, vitals, side effects and adverse events,
questionnaires on schedule with plausible trajectories (response, relapse, boosters), the safety alerts the
questionnaire rules raise and their acknowledgement, and the outcome summaries of the clinic report.

Rows are written in bulk, bypassing the services (no audit rows: this is generated data): PostgreSQL COPY through
psycopg's `cursor.copy`, SQLite `executemany`. Ids are assigned here (run it on a database nobody else is writing
to); sequences are moved past them at the end. Questionnaire answers are scored by the instruments domain (scores
and alerts are exactly what `response_record` would store), cached per distinct answer set.

Trajectory model (plausible, not fitted; evidence.md §5-6, iv-ketamine.md §2): a latent severity falls during a
series by a patient-specific fraction (responders ~ 55-70 %), and the benefit fades after the last dose with a
patient-specific durability (median ~ 18-25 days after an IV series); IV patients who relapse get boosters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import operator
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction
from django.db.models import NOT_PROVIDED, Max
from django.utils import timezone

from ketacare.core import clock
from ketacare.instruments.domain.messages import rule_message
from ketacare.instruments.domain.registry import load_shipped
from ketacare.instruments.services import raw_answers, score_answers
from ketacare.outcomes import selectors as outcome_selectors
from ketacare.outcomes.domain.summary import CourseFacts, summarize_course
from ketacare.outcomes.domain.trajectory import Measurement
from ketacare.treatment.choices import Route

UTC = dt.UTC


class JsonText(str):
    """JSON already encoded (cached answer sets): written as is."""


_EMPTY_JSON = {"[]": JsonText("[]"), "{}": JsonText("{}")}


# --- the bulk writer -------------------------------------------------------------------------------------------


@dataclass
class _Table:
    model: type[models.Model]
    columns: list[str]  # db column names
    attnames: list[str]
    fields: list[models.Field]
    defaults: list[Any]
    json: set[int]


class BulkWriter:
    """Collects rows per model (dicts of attname -> value) and writes them in one COPY / executemany per table."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.tables: dict[type, _Table] = {}
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.next_id: dict[type, int] = {}
        self.written = 0

    def _table(self, model) -> _Table:
        table = self.tables.get(model)
        if table is None:
            fields = [f for f in model._meta.concrete_fields]
            defaults = []
            for f in fields:
                if f.has_default():
                    value = f.get_default()
                elif f.null or f.primary_key:
                    value = None
                elif f.blank and isinstance(f, models.CharField | models.TextField):
                    value = ""
                else:
                    value = NOT_PROVIDED
                defaults.append(value)
            table = _Table(model, [f.column for f in fields], [f.attname for f in fields], fields, defaults,
                           {n for n, f in enumerate(fields) if isinstance(f, models.JSONField)})
            self.tables[model] = table
        return table

    def new_id(self, model) -> int:
        if model not in self.next_id:
            self.next_id[model] = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def add(self, model, **values) -> dict:
        self.rows[model].append(values)
        return values

    def flush(self) -> None:
        for model, rows in self.rows.items():
            if rows:
                self._write(self._table(model), rows)
                self.written += len(rows)
        self.rows = defaultdict(list)

    def _tuples(self, table: _Table, rows: list[dict]) -> Iterable[tuple]:
        attnames, defaults, json_cols = table.attnames, table.defaults, table.json
        missing = [a for a, d in zip(attnames, defaults, strict=True) if d is NOT_PROVIDED and a not in rows[0]]
        if missing:
            raise RuntimeError(f"synth: {table.model.__name__} needs values for {missing}")
        base = dict(zip(attnames, defaults, strict=True))
        pick = operator.itemgetter(*attnames)
        json_names = [attnames[n] for n in sorted(json_cols)]
        for row in rows:
            merged = base | row
            for name in json_names:
                value = merged[name]
                if value is not None and not isinstance(value, JsonText):
                    merged[name] = _EMPTY_JSON.get(repr(value)) or JsonText(json.dumps(value, separators=(",", ":")))
            yield pick(merged)

    def _write(self, table: _Table, rows: list[dict]) -> None:
        name = table.model._meta.db_table
        cols = ", ".join(connection.ops.quote_name(c) for c in table.columns)
        if self.pg:
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY {connection.ops.quote_name(name)} ({cols}) FROM STDIN") as copy:
                    for row in self._tuples(table, rows):
                        copy.write_row(row)
            return
        prepared = []
        fields = table.fields
        for row in self._tuples(table, rows):
            prepared.append([v if isinstance(v, JsonText) or v is None else f.get_db_prep_save(v, connection)
                             for f, v in zip(fields, row, strict=True)])
        marks = ", ".join(["%s"] * len(table.columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {connection.ops.quote_name(name)} ({cols}) VALUES ({marks})", prepared)

    def analyze(self) -> None:
        """Refresh the planner statistics of the tables written (after a bulk load they describe empty tables, and
        the planner would pick sequential scans over millions of rows)."""
        with connection.cursor() as cursor:
            for model in self.tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def reset_sequences(self) -> None:
        """Move the id sequences past the ids assigned here (PostgreSQL)."""
        if not self.pg:
            return
        with connection.cursor() as cursor:
            for model in self.next_id:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}), 1))", [table])


# --- scored answer sets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    answers: JsonText
    total: Decimal | None
    band: str
    subscales: JsonText
    missing: JsonText
    item_scores: JsonText
    status: str
    alerts: tuple[tuple[str, str, str], ...]  # (code, severity, message)
    item9: int | None


class AnswerBank:
    """Answer sets for a target total, scored once by the instruments domain and cached."""

    def __init__(self) -> None:
        self.instruments = load_shipped()
        self.cache: dict[tuple, Scored] = {}

    def version(self, key: str) -> str:
        return self.instruments[key].version

    def get(self, key: str, total: int, *, item9: int = 0, pattern: int = 0) -> Scored:
        cache_key = (key, total, item9, pattern)
        scored = self.cache.get(cache_key)
        if scored is None:
            scored = self.cache[cache_key] = self._score(key, total, item9, pattern)
        return scored

    def _score(self, key: str, total: int, item9: int, pattern: int) -> Scored:
        instrument = self.instruments[key]
        scored_items = [i for i in instrument.items if i.scored]
        answers: dict[str, Any] = {}
        if key == "vas-anxiety":
            answers = {"vas": total}
        else:
            fixed = {}
            if key == "phq-9":
                fixed = {"/44260-8": item9}
            free = [i for i in scored_items if i.link_id not in fixed]
            top = int(max(w for i in free for w in i.weight_range))
            weights = dict.fromkeys((i.link_id for i in free), 0)
            remaining = max(0, total - sum(fixed.values()))
            order = free[pattern % len(free):] + free[:pattern % len(free)]
            while remaining > 0 and any(weights[i.link_id] < top for i in order):
                for item in order:
                    if remaining and weights[item.link_id] < top:
                        weights[item.link_id] += 1
                        remaining -= 1
            weights.update(fixed)
            for item in instrument.items:
                if item.scored:
                    option = next(o for o in item.options if o.weight == weights[item.link_id])
                    answers[item.link_id] = option.code
                elif item.options:  # the unscored "how difficult" item: worse with the total
                    n = min(len(item.options) - 1, total * len(item.options) // (int(instrument.total_range[1]) + 1))
                    answers[item.link_id] = item.options[n].code
        result = score_answers(instrument=instrument, answers=answers)

        def number(value):
            return None if value is None else (int(value) if value == value.to_integral_value() else float(value))

        dumps = lambda v: JsonText(json.dumps(v, separators=(",", ":")))  # noqa: E731
        item_scores = {k: number(v) for k, v in result.item_scores.items()}
        return Scored(
            answers=dumps(raw_answers(instrument, answers)), total=result.total, band=result.band or "",
            subscales=dumps({k: number(v) for k, v in result.subscales.items()}), missing=dumps(list(result.missing)),
            item_scores=dumps(item_scores), status=result.status.value,
            alerts=tuple((a.code, a.severity.value, rule_message(instrument.title, a.code)) for a in result.alerts),
            item9=item9 if key == "phq-9" else None)


# --- the simulation -----------------------------------------------------------------------------------------------

GIVEN = ["Avery", "Blake", "Casey", "Dana", "Elliot", "Farah", "Gabriel", "Hana", "Ines", "Jonah", "Kai", "Lena",
         "Mateo", "Nadia", "Omar", "Paula", "Quinn", "Rosa", "Samir", "Tess", "Uma", "Victor", "Wren", "Ximena",
         "Yusuf", "Zoe", "Amara", "Bruno", "Celia", "Dmitri", "Esme", "Felix", "Greta", "Hugo", "Isla", "Jasper"]
FAMILY = ["Abbott", "Baptiste", "Castillo", "Dunmore", "Eriksen", "Fairweather", "Goldberg", "Haddad", "Iwasaki",
          "Jovanovic", "Kowalczyk", "Lindgren", "Moreau", "Nakamura", "OConnell", "Petrovic", "Quintero",
          "Rasmussen", "Sandoval", "Thibodeaux", "Underwood", "Vasquez", "Whitfield", "Yamamoto", "Zielinski"]
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
        profile = next((p for p in PROFILES if p[0] == profile), chosen)
        kind, codes = profile[0], list(profile[2])
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
            for row in events:
                w.add(m("outcomes.EventOutcome"), **_values(row, id=w.new_id(m("outcomes.EventOutcome")),
                                                            outcome_id=outcome_id))
        self.sims = []


def _values(instance: models.Model, **extra) -> dict:
    values = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.attname != "id"}
    values.update(extra)
    return values


# --- driver ----------------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr: done/total, rows written, rate and time left."""

    def __init__(self, total: int, *, stream=None, enabled: bool = True) -> None:
        self.total, self.stream, self.enabled = total, stream or sys.stderr, enabled
        self.start = time.monotonic()

    def update(self, done: int, rows: int) -> None:
        if not self.enabled:
            return
        elapsed = max(1e-6, time.monotonic() - self.start)
        share = done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        left = elapsed / share - elapsed if share else 0
        self._write(f"\r[{bar:<30}] {done}/{self.total} patients  {rows:,} rows  "
                    f"{done / elapsed:,.0f} patients/s  {left:,.0f} s left ")

    def _write(self, text: str) -> None:
        if hasattr(self.stream, "ending"):  # a management command's OutputWrapper: no newline per update
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._write("\n")


def _is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def _staff(writer: BulkWriter, clinic_id: int, code: str) -> tuple[list[int], list[int]]:
    from django.contrib.auth.hashers import make_password

    User = apps.get_model("accounts.User")  # noqa: N806
    password = make_password(None)  # unusable: synthetic staff cannot sign in
    prescribers, nurses = [], []
    now = clock.now()
    for role, count, target in (("prescriber", 2, prescribers), ("nurse", 4, nurses)):
        for n in range(1, count + 1):
            username = f"{code}-{role}-{n}"
            existing = User.objects.filter(username=username).values_list("id", flat=True).first()
            if existing:
                target.append(existing)
                continue
            user_id = writer.new_id(User)
            writer.add(User, id=user_id, username=username, password=password, first_name=role.capitalize(),
                       last_name=f"{code.upper()} {n}", email="", is_staff=False, is_active=True, is_superuser=False,
                       date_joined=now, clinic_id=clinic_id, role=role)
            target.append(user_id)
    return prescribers, nurses


def _documents(writer: BulkWriter, clinic_id: int, author: int, today: dt.date) -> dict[str, int]:
    Document = apps.get_model("screening.ConsentDocument")  # noqa: N806
    result = {}
    for route, title in (("iv-ketamine", "IV ketamine"), ("esketamine", "Esketamine nasal spray")):
        existing = Document.objects.filter(clinic_id=clinic_id, route=route, version="synthetic-1").values_list(
            "id", flat=True).first()
        if existing:
            result[route] = existing
            continue
        doc_id = writer.new_id(Document)
        now = clock.now()
        writer.add(Document, id=doc_id, clinic_id=clinic_id, route=route, version="synthetic-1",
                   title=f"Consent to {title} (synthetic)", body="Synthetic consent text for generated data.",
                   effective_on=today - dt.timedelta(days=5 * 365), created_at=now, created_by_id=author,
                   updated_at=now, published_at=now, published_by_id=author)
        result[route] = doc_id
    return result


def _clinic_ctx(writer: BulkWriter, clinic, today: dt.date, *, prescribers=None, nurses=None) -> ClinicCtx:
    if prescribers is None:
        prescribers, nurses = _staff(writer, clinic.pk, clinic.code)
    documents = _documents(writer, clinic.pk, prescribers[0], today)
    return ClinicCtx(clinic.pk, clinic.code, prescribers, nurses, documents, clinic.next_mrn)


def _first_dose(rng: random.Random, today: dt.date, span_days: int) -> dt.datetime:
    day = today - dt.timedelta(days=rng.randint(10, span_days))
    return dt.datetime(day.year, day.month, day.day, rng.choice([13, 14, 15, 16, 18]), rng.choice([0, 15, 30, 45]),
                       tzinfo=UTC)


def generate(*, patients: int, clinics: int = 1, seed: int = 1, today: dt.date | None = None, batch: int = 1000,
             progress: bool = True, span_days: int = 3 * 365, stream=None, fast_load: bool = False) -> dict:
    """Generate `patients` patients spread over `clinics` new synthetic clinics; returns counts."""
    Clinic = apps.get_model("core.Clinic")  # noqa: N806
    today = today or clock.today()
    writer, bank = BulkWriter(), AnswerBank()
    gen = Generator(writer=writer, bank=bank, today=today, seed=seed)
    started = time.monotonic()
    with transaction.atomic():
        rows = []
        for n in range(clinics):
            clinic, _ = Clinic.objects.get_or_create(
                code=f"syn{seed % 1000:03d}{n + 1:03d}"[:16],
                defaults={"name": f"Synthetic Clinic {seed % 1000:03d}-{n + 1:03d}"})
            rows.append(clinic)
        writer_ctx = [_clinic_ctx(writer, c, today) for c in rows]
        writer.flush()
    bar = Progress(patients, enabled=progress, stream=stream)
    done = 0
    fast = fast_load and connection.vendor == "postgresql" and _is_superuser()
    while done < patients:
        size = min(batch, patients - done)
        with transaction.atomic():
            if fast:
                # Bulk-load mode for this transaction only: foreign-key triggers off (the generator assigns every
                # id itself and tests check the same code with the checks on), no wait for the WAL flush.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for k in range(size):
                ctx = writer_ctx[(done + k) % clinics]
                gen.patient(ctx, first_dose=_first_dose(gen.rng, today, span_days))
            gen.summaries(clock.now())
            writer.flush()
            for ctx in writer_ctx:
                Clinic.objects.filter(pk=ctx.clinic_id).update(next_mrn=ctx.next_mrn)
        done += size
        bar.update(done, writer.written)
    bar.finish()
    writer.reset_sequences()
    writer.analyze()
    from ketacare.outcomes.services import mark_current

    mark_current(clinic_ids=[c.clinic_id for c in writer_ctx])
    return {"patients": patients, "clinics": clinics, "rows": writer.written,
            "seconds": round(time.monotonic() - started, 1), "clinic_ids": [c.clinic_id for c in writer_ctx]}


def seed_clinic_demo(*, clinic, users: dict, today: dt.date) -> None:
    """Whole synthetic histories for the demo clinic's patients that have no treatment course yet (idempotent: a
    patient who has a course is left alone), the last of them with three years of weekly PHQ-9 and GAD-7; then the
    clinic's outcome summaries are rebuilt."""
    Patient = apps.get_model("patients.Patient")  # noqa: N806
    Course = apps.get_model("treatment.Course")  # noqa: N806
    Response = apps.get_model("instruments.QuestionnaireResponse")  # noqa: N806
    busy = set(Course.objects.filter(clinic=clinic).values_list("patient_id", flat=True)) | set(
        Response.objects.filter(clinic=clinic).values_list("patient_id", flat=True))
    free = [p for p in Patient.objects.filter(clinic=clinic).order_by("mrn").values_list("id", "given_name",
                                                                                       "family_name")
            if p[0] not in busy]
    # Keep the first patients (screening's and treatment's demo cases) out of it.
    free = [p for p in free if p[0] not in set(Patient.objects.filter(clinic=clinic).order_by("mrn")
                                                .values_list("id", flat=True)[:8])]
    if free:
        writer, bank = BulkWriter(), AnswerBank()
        gen = Generator(writer=writer, bank=bank, today=today, seed=2026)
        prescribers = [u.pk for u in users.values() if u.role == "prescriber"]
        nurses = [u.pk for u in users.values() if u.role == "nurse"]
        clinic.refresh_from_db()
        ctx = _clinic_ctx(writer, clinic, today, prescribers=prescribers, nurses=nurses)
        with transaction.atomic():
            *others, longest = free
            for existing in others:
                gen.patient(ctx, first_dose=_first_dose(gen.rng, today, 2 * 365), existing=existing)
            long_start = dt.datetime.combine(today - dt.timedelta(days=3 * 365 + 10), dt.time(14, 0), tzinfo=UTC)
            gen.patient(ctx, first_dose=long_start, weekly_years=3.0, existing=longest, profile="mdd_gad",
                        showcase=True)
            writer.flush()
        writer.reset_sequences()
    from ketacare.outcomes.services import mark_current, summaries_rebuild

    # The other demo seeders wrote through the services: rebuild the whole clinic, then mark it current.
    summaries_rebuild(clinic_id=clinic.pk)
    mark_current(clinic_ids=[clinic.pk])


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def add_patients(*, clinic, prescribers: list[int], nurses: list[int], count: int, seed: int = 7,
                 today: dt.date | None = None, weekly_years: float | None = None,
                 first_dose: dt.datetime | None = None, span_days: int = 365) -> list[int]:
    """Generate `count` patients with whole histories in an existing clinic (tests, demo); summaries not written."""
    today = today or clock.today()
    writer, bank = BulkWriter(), AnswerBank()
    gen = Generator(writer=writer, bank=bank, today=today, seed=seed)
    clinic.refresh_from_db()
    ctx = _clinic_ctx(writer, clinic, today, prescribers=prescribers, nurses=nurses)
    ids = []
    with transaction.atomic():
        for _ in range(count):
            sim = gen.patient(ctx, first_dose=first_dose or _first_dose(gen.rng, today, span_days),
                              weekly_years=weekly_years)
            ids.append(sim.patient_id)
        writer.flush()
        apps.get_model("core.Clinic").objects.filter(pk=clinic.pk).update(next_mrn=ctx.next_mrn)
    writer.reset_sequences()
    return ids

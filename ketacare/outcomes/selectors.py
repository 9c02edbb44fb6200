"""Reading outcome data: a patient's trajectories for the outcomes page, course facts for the summaries, and the
cohort aggregate of the clinic report (SQL GROUP BY over the summary tables).

Patient-level reads take a patient the caller already got through patients.selectors.patient_get_for (clinic- and
role-scoped); clinic-level reads take the clinic id of the asking user. Rows of the instruments, safety, screening
and treatment apps are read here in bulk (one query per table), because their per-user selectors are per record.
"""

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import cast

from django.db.models import Count, F, Min, Q, QuerySet, Sum

from ketacare.accounts.roles import Perm
from ketacare.core import clock, plausible
from ketacare.core.errors import NotFound
from ketacare.instruments.choices import ResponseStatus
from ketacare.instruments.domain.model import Instrument
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.instruments.selectors import shipped_instruments
from ketacare.outcomes import patient_rows
from ketacare.outcomes.domain import report as report_domain
from ketacare.outcomes.domain.definitions import (
    DEFAULT_DEFINITIONS,
    OutcomeDefinition,
    RelapseRule,
    definition_for,
)
from ketacare.outcomes.domain.summary import (
    DROPOUT_AFTER,
    SERIES_GAP,
    AdverseEventFact,
    AlertFact,
    CourseFacts,
    side_effect_episodes,
)
from ketacare.outcomes.domain.trajectory import (
    Measurement,
    PointOutcome,
    RelapseOutcome,
    SessionRelief,
    TimeToEvent,
    choose_baseline,
    point_outcomes,
    rapid_relief,
    relapse_after_series,
    time_to_first_response,
)
from ketacare.outcomes.models import (
    CohortKey,
    EventKind,
    EventOutcome,
    InstrumentOutcome,
    OutcomeSetting,
    PatientOutcome,
    ProgressLetter,
)
from ketacare.safety.models import Alert
from ketacare.screening.domain.icd10 import categories_of
from ketacare.screening.models import Diagnosis
from ketacare.treatment.choices import Route
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS
from ketacare.treatment.models import AdverseEvent, Course, DoseAdministration, DosingSession, SideEffectCheck

SUMMARY_FORMAT = 2  # bump when the meaning of the summary rows changes: every clinic is rebuilt on its next report
PHQ9_ITEM9 = "/44260-8"  # instruments.md §1.1: PHQ-9 item 9, the suicide item
DRUG_ROUTES = (Route.INTRAVENOUS.value, Route.INTRANASAL.value)  # "none" (psychotherapy) is not a drug course


class LetterNotFound(NotFound):
    """Letter not found."""

    code = "letter_not_found"


# --- definitions ----------------------------------------------------------------------------------------------


def outcome_settings_current(clinic_id: int) -> dict[str, OutcomeSetting]:
    """The newest revision per instrument of the clinic's overrides."""
    current: dict[str, OutcomeSetting] = {}
    for row in OutcomeSetting.objects.filter(clinic_id=clinic_id).order_by("instrument_key", "-revision"):
        current.setdefault(row.instrument_key, row)
    return current


def overrides_of(setting: OutcomeSetting) -> dict[str, object]:
    """The fields of a setting row as `definition_for` overrides (empty fields keep the default)."""
    changes: dict[str, object] = {}
    if setting.response_pct_reduction is not None:
        changes["response_pct_reduction"] = setting.response_pct_reduction
    if setting.response_strict is not None:
        changes["response_strict"] = setting.response_strict
    if setting.remission_max_total is not None:
        changes["remission_max_total"] = setting.remission_max_total
    if setting.baseline_window_days is not None:
        changes["baseline_window"] = dt.timedelta(days=setting.baseline_window_days)
    if setting.relapse_consecutive is not None:
        base = DEFAULT_DEFINITIONS[setting.instrument_key].relapse
        changes["relapse"] = RelapseRule(kind=base.kind, consecutive=setting.relapse_consecutive,
                                         pct_of_baseline=base.pct_of_baseline,
                                         end_of_series_within=base.end_of_series_within)
    return changes


def definitions_for_clinic(clinic_id: int) -> dict[str, OutcomeDefinition]:
    """Every outcome definition with the clinic's overrides applied."""
    overrides = {key: overrides_of(row) for key, row in outcome_settings_current(clinic_id).items()
                 if key in DEFAULT_DEFINITIONS}
    return {key: definition_for(key, overrides) for key in DEFAULT_DEFINITIONS}


def definitions_key(definitions: Mapping[str, OutcomeDefinition]) -> str:
    """A fingerprint of the rules (not their provenance text): summaries computed under another key are stale."""
    text = repr(sorted((k, d.response_pct_reduction, d.response_strict, d.remission_max_total, d.relapse,
                        d.direction, d.baseline_window, d.rapid_relief) for k, d in definitions.items()))
    return hashlib.sha256(f"{text}|{SERIES_GAP}|{DROPOUT_AFTER}|{SUMMARY_FORMAT}".encode()).hexdigest()[:32]


@cache
def instruments() -> dict[str, Instrument]:
    return shipped_instruments()


def band_ranges(key: str) -> tuple[tuple[Decimal, Decimal, str], ...]:
    instrument = instruments().get(key)
    if instrument is None:
        return ()
    return tuple((b.low, b.high, b.code) for b in instrument.bands if b.low is not None and b.high is not None)


@cache
def induction_planned(protocol_ref: str) -> int | None:
    """Sessions in the protocol's "induction" phase (None when the protocol has none, e.g. maintenance)."""
    protocol = DEFAULT_PROTOCOLS.get(protocol_ref)
    if protocol is None:
        return None
    for phase in protocol.phases:
        if phase.name == "induction" and phase.cycles is not None:
            return phase.cycles * len(phase.day_offsets)
    return None


# --- course facts for the summaries ---------------------------------------------------------------------------


@dataclass
class IndexCourse:
    """A patient's index course (first course with a dose) and what the summary row needs besides CourseFacts."""

    patient_id: int
    clinic_id: int
    course_id: int
    route: str
    protocol_ref: str
    diagnoses: str
    facts: CourseFacts


def _measurements(patient_ids: Sequence[int], keys: Iterable[str]) -> dict[int, dict[str, list[Measurement]]]:
    rows = (QuestionnaireResponse.objects.filter(patient_id__in=patient_ids, instrument_key__in=list(keys),
                                                 status=ResponseStatus.COMPLETE, total__isnull=False)
            .current().values_list("patient_id", "instrument_key", "answered_at", "total"))
    result: dict[int, dict[str, list[Measurement]]] = defaultdict(lambda: defaultdict(list))
    for patient_id, key, at, total in rows:
        result[patient_id][key].append(Measurement(at, total))
    return result


def diagnoses_text(codes: Iterable[str]) -> str:
    """Diagnosis categories as "|gad|mdd|" (a filter matches "|mdd|"); "" when none is recorded."""
    categories = sorted(str(c) for c in categories_of(tuple(codes)))
    return f"|{'|'.join(categories)}|" if categories else ""


def index_courses(patient_ids: Sequence[int], definitions: Mapping[str, OutcomeDefinition]) -> list[IndexCourse]:
    """The index course of each patient that has one, with everything the summary needs (9 queries)."""
    dosed = (DosingSession.objects.filter(patient_id__in=patient_ids, first_dose_at__isnull=False)
             .values_list("patient_id", "course_id", "id", "phase", "first_dose_at"))
    doses_by_course: dict[int, list[tuple[int, str, dt.datetime]]] = defaultdict(list)
    courses_of_patient: dict[int, set[int]] = defaultdict(set)
    for patient_id, course_id, session_id, phase, at in dosed:
        if at is None:  # excluded by the query; the type cannot say so
            continue
        doses_by_course[course_id].append((session_id, phase, at))
        courses_of_patient[patient_id].add(course_id)
    if not doses_by_course:
        return []
    courses = {c["id"]: c for c in Course.objects.filter(id__in=list(doses_by_course), route__in=DRUG_ROUTES)
               .values("id", "patient_id", "clinic_id", "route", "protocol_ref", "status", "ended_at")}
    index: dict[int, dict] = {}
    for course_id, row in courses.items():
        first = min(at for _, _, at in doses_by_course[course_id])
        current = index.get(row["patient_id"])
        if current is None or (first, course_id) < (current["first"], current["id"]):
            index[row["patient_id"]] = {**row, "first": first}
    patients = list(index)
    session_ids = [sid for c in index.values() for sid, _, _ in doses_by_course[c["id"]]]
    checks: dict[int, list[tuple[dt.datetime, list[str]]]] = defaultdict(list)
    for session_id, at, effects in SideEffectCheck.objects.filter(session_id__in=session_ids).values_list(
            "session_id", "at", "effects"):
        checks[session_id].append((at, effects or []))
    adverse: dict[int, list[AdverseEventFact]] = defaultdict(list)
    for session_id, serious, onset, resolved in AdverseEvent.objects.filter(session_id__in=session_ids).values_list(
            "session_id", "serious", "onset_at", "resolved_at"):
        minutes = None if resolved is None else int((resolved - onset).total_seconds()) // 60
        adverse[session_id].append(AdverseEventFact(serious=serious, minutes=minutes))
    alerts: dict[int, list[AlertFact]] = defaultdict(list)
    for patient_id, severity, raised, acked in Alert.objects.filter(patient_id__in=patients).values_list(
            "patient_id", "severity", "raised_at", "acknowledged_at"):
        alerts[patient_id].append(AlertFact(severity, raised, acked))
    codes: dict[int, list[str]] = defaultdict(list)
    for patient_id, code in Diagnosis.objects.filter(intake__patient_id__in=patients).values_list(
            "intake__patient_id", "code"):
        codes[patient_id].append(code)
    measurements = _measurements(patients, definitions)
    bands = {key: band_ranges(key) for key in definitions}
    result = []
    for patient_id, course in index.items():
        sessions = sorted(doses_by_course[course["id"]], key=lambda s: s[2])
        start = min(at for _, _, at in sessions)
        later = sorted(at for other in courses_of_patient[patient_id] - {course["id"]}
                       for _, _, at in doses_by_course[other] if at > start)
        induction = [at for _, phase, at in sessions if phase == "induction"]
        side_effects = [e for sid, _, _ in sessions for e in side_effect_episodes(checks.get(sid, []))]
        with_effects = sum(1 for sid, _, _ in sessions if any(effects for _, effects in checks.get(sid, [])))
        facts = CourseFacts(
            doses=[at for _, _, at in sessions],
            later_doses=later,
            measurements=measurements.get(patient_id, {}),
            induction_doses=induction or None,
            induction_planned=induction_planned(course["protocol_ref"]) if induction else None,
            closed=course["status"] != "active",
            sessions_with_side_effects=with_effects,
            side_effects=side_effects,
            adverse_events=[e for sid, _, _ in sessions for e in adverse.get(sid, [])],
            alerts=sorted((a for a in alerts.get(patient_id, []) if a.raised_at >= start - dt.timedelta(days=1)),
                          key=lambda a: a.raised_at),
            bands=bands,
        )
        result.append(IndexCourse(patient_id, course["clinic_id"], course["id"], course["route"],
                                  course["protocol_ref"], diagnoses_text(codes.get(patient_id, [])), facts))
    return result


# --- the cohort report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFilter:
    """Cohort: patients whose index course started (first dose) in [start_on, end_on], by route, protocol and
    diagnosis category. Researchers filter by years (the de-identified view shows no exact dates)."""

    start_on: dt.date | None = None
    end_on: dt.date | None = None
    route: str = ""
    protocol_ref: str = ""
    diagnosis: str = ""

    @property
    def by_key(self) -> bool:
        return bool(self.route or self.protocol_ref or self.diagnosis)

    def key_q(self) -> Q:
        """The filter on a CohortKey (or on a PatientOutcome, which carries the same columns)."""
        q = Q()
        if self.route:
            q &= Q(route=self.route)
        if self.protocol_ref:
            q &= Q(protocol_ref=self.protocol_ref)
        if self.diagnosis:
            q &= Q(diagnoses__contains=f"|{self.diagnosis}|")
        return q

    def date_q(self) -> Q:
        q = Q()
        if self.start_on:
            q &= Q(first_dose_on__gte=self.start_on)
        if self.end_on:
            q &= Q(first_dose_on__lte=self.end_on)
        return q

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v}


def _cohort_keys(clinic_id: int, cohort: CohortFilter) -> list[int] | None:
    """Ids of the clinic's cohort keys the filter selects; None when it selects every key."""
    if not cohort.by_key:
        return None
    return list(CohortKey.objects.filter(Q(clinic_id=clinic_id) & cohort.key_q()).values_list("id", flat=True))


def _scope(model, clinic_id: int, cohort: CohortFilter, keys: list[int] | None = None) -> QuerySet:
    q = Q(clinic_id=clinic_id) & cohort.date_q()
    if keys is not None:
        q &= Q(cohort_key_id__in=keys)
    return model.objects.filter(q)


def cohort_aggregate(*, clinic_id: int, cohort: CohortFilter, now: dt.datetime | None = None
                     ) -> report_domain.CohortAggregate:
    """The report's sufficient statistics from the summary tables: one GROUP BY per figure (8 queries over narrow
    rows). Mirrors domain.report.aggregate; tests assert both give the same aggregate."""
    now = now or clock.now()
    agg = report_domain.CohortAggregate()
    keys = _cohort_keys(clinic_id, cohort)
    if keys == []:
        return agg
    dropout = Q(induction_completed=False, doses__gt=0) & (Q(closed=True) | Q(last_dose_at__lt=now - DROPOUT_AFTER))
    totals = _scope(PatientOutcome, clinic_id, cohort, keys).aggregate(
        n_patients=Count("id"), n_treated=Count("id", filter=Q(doses__gt=0)), n_doses=Sum("doses"),
        n_dropouts=Count("id", filter=dropout), n_with_effects=Sum("sessions_with_side_effects"))
    agg.patients, agg.treated = totals["n_patients"], totals["n_treated"]
    agg.doses, agg.dropouts = totals["n_doses"] or 0, totals["n_dropouts"]
    agg.sessions_with_side_effects = totals["n_with_effects"] or 0

    instruments_q = _scope(InstrumentOutcome, clinic_id, cohort, keys).filter(baseline__isnull=False)
    rows = instruments_q.values("instrument_key").annotate(
        n=Count("id"), b_sum=Sum("baseline"), b_sq=Sum(F("baseline") * F("baseline")),
        response_n=Count("id", filter=Q(response__isnull=False)), responders=Count("id", filter=Q(response=True)),
        remission_n=Count("id", filter=Q(remission__isnull=False)), remitters=Count("id", filter=Q(remission=True)),
        c_n=Count("change"), c_sum=Sum("change"), c_sq=Sum(F("change") * F("change")),
        ever=Count("id", filter=Q(ttr_event=True)))
    for r in rows:
        ia = agg.instruments.setdefault(r["instrument_key"], report_domain.InstrumentAggregate(r["instrument_key"]))
        ia.baseline = report_domain.Moments(r["n"], float(r["b_sum"] or 0), float(r["b_sq"] or 0))
        ia.response_n, ia.responders = r["response_n"], r["responders"]
        ia.remission_n, ia.remitters = r["remission_n"], r["remitters"]
        ia.change = report_domain.Moments(r["c_n"], float(r["c_sum"] or 0), float(r["c_sq"] or 0))
        ia.ever_responders = r["ever"]
    # Bands, times to response and the relapse life table: small GROUP BYs on the same rows.
    for key, band, n in instruments_q.exclude(baseline_band="").values_list("instrument_key", "baseline_band") \
            .annotate(n=Count("id")).values_list("instrument_key", "baseline_band", "n"):
        agg.instruments[key].band_counts[band] = n
    for key, days, n in instruments_q.filter(ttr_event=True).values_list("instrument_key", "ttr_days") \
            .annotate(n=Count("id")).values_list("instrument_key", "ttr_days", "n"):
        agg.instruments[key].ttr_days[days] = n
    for key, days, event, n in instruments_q.filter(relapse_days__isnull=False) \
            .values_list("instrument_key", "relapse_days", "relapse_event").annotate(n=Count("id")) \
            .values_list("instrument_key", "relapse_days", "relapse_event", "n"):
        agg.instruments[key].relapse.setdefault(days, [0, 0])[0 if event else 1] += n

    events = _scope(EventOutcome, clinic_id, cohort, keys)
    for kind, code, patients, episodes, timed, m_sum, m_sq in (
            events.exclude(kind=EventKind.ALERT).values_list("kind", "code")  # one row per patient and code
            .annotate(p=Count("id"), e=Sum("episodes"), t=Sum("timed"), s=Sum("minutes_sum"),
                      q=Sum("minutes_sumsq"))
            .values_list("kind", "code", "p", "e", "t", "s", "q")):
        target = (agg.side_effects.setdefault(code, report_domain.KindAggregate()) if kind == EventKind.SIDE_EFFECT
                  else agg.serious_adverse_events if code == "serious" else agg.adverse_events)
        target.patients, target.episodes = patients, episodes or 0
        target.minutes = report_domain.Moments(timed or 0, float(m_sum or 0), float(m_sq or 0))
    # Alerts: one GROUP BY (severity, minutes to acknowledge; NULL = still open) gives every alert figure.
    for code, minutes, first, n in events.filter(kind=EventKind.ALERT).values_list("code", "minutes").annotate(
            p=Sum("episodes"), n=Count("id")).values_list("code", "minutes", "p", "n"):
        alert = agg.alerts.setdefault(code, report_domain.AlertAggregate())
        alert.patients += int(first or 0)
        alert.alerts += n
        if minutes is not None:
            alert.acknowledged += n
            alert.ack_minutes[minutes] = n
    return agg


def cohort_options(clinic_id: int) -> dict[str, list[tuple[str, str]]]:
    """Routes, protocols and diagnosis categories present in the clinic's summaries (filter choices)."""
    base = CohortKey.objects.filter(clinic_id=clinic_id)
    routes = sorted(base.order_by().values_list("route", flat=True).distinct())
    protocols = sorted(base.order_by().values_list("protocol_ref", flat=True).distinct())
    diagnoses = sorted({c for text in base.order_by().values_list("diagnoses", flat=True).distinct()
                        for c in text.split("|") if c})
    return {"routes": [(r, ROUTE_LABELS.get(r, r)) for r in routes],
            "protocols": [(p, DEFAULT_PROTOCOLS[p].title if p in DEFAULT_PROTOCOLS else p) for p in protocols],
            "diagnoses": [(d, d.replace("_", " ").capitalize()) for d in diagnoses]}


ROUTE_LABELS = {Route.INTRAVENOUS.value: "IV infusion", Route.INTRANASAL.value: "Nasal spray (esketamine)"}


def cohort_patients(*, clinic_id: int, cohort: CohortFilter) -> QuerySet:
    """Identified per-patient rows of the cohort (clinicians only), for the CSV export and the patient list."""
    keys = _cohort_keys(clinic_id, cohort)
    return (_scope(InstrumentOutcome, clinic_id, cohort, [] if keys == [] else keys)
            .select_related("outcome__patient").order_by("outcome__patient__family_name", "outcome_id",
                                                         "instrument_key"))


# --- one patient's outcomes page --------------------------------------------------------------------------------


@dataclass
class SessionRow:
    session_id: int
    number: int
    phase: str
    dose_at: dt.datetime
    dose_mg: Decimal | None
    peak_cadss: int | None
    lowest_moaas: int | None
    side_effects: list[str]
    adverse_events: int


@dataclass
class SeriesDurability:
    number: int
    doses: int
    first_dose_at: dt.datetime
    last_dose_at: dt.datetime
    outcome: RelapseOutcome


@dataclass
class InstrumentTrajectory:
    key: str
    title: str
    definition: OutcomeDefinition
    instrument: Instrument | None
    points: list[Measurement]
    baseline: Measurement | None
    latest: PointOutcome | None
    time_to_response: TimeToEvent | None
    relief: list[SessionRelief] = field(default_factory=list)
    durability: list[SeriesDurability] = field(default_factory=list)
    home: list[Measurement] = field(default_factory=list)  # the points answered at home (portal), to mark them

    @property
    def total_range(self) -> tuple[Decimal, Decimal]:
        if self.instrument is not None and self.instrument.total_range is not None:
            return self.instrument.total_range
        values = [m.total for m in self.points] or [Decimal(0)]
        return Decimal(0), max(values)


@dataclass
class SuicideItem:
    at: dt.datetime
    source: str  # "PHQ-9 item 9" or "C-SSRS screen"
    value: str
    level: int  # 0 none ... 3 highest, for the chart and colour


@dataclass
class PatientOutcomes:
    doses: list[dt.datetime]
    sessions: list[SessionRow]
    trajectories: list[InstrumentTrajectory]
    suicide_items: list[SuicideItem]
    dissociation: list[tuple[dt.datetime, int]]


PHQ9_ITEM9_LABELS = {0: "Not at all", 1: "Several days", 2: "More than half the days", 3: "Nearly every day"}
CSSRS_LEVELS = {"none": 0, "low": 1, "moderate": 2, "high": 3}


def split_series(doses: Sequence[dt.datetime], gap: dt.timedelta = SERIES_GAP) -> list[list[dt.datetime]]:
    series: list[list[dt.datetime]] = []
    for at in sorted(doses):
        if series and at - series[-1][-1] <= gap:
            series[-1].append(at)
        else:
            series.append([at])
    return series


def patient_outcomes(*, patient, definitions: Mapping[str, OutcomeDefinition], detail: bool = True,
                     sessions: Sequence[patient_rows.SessionTuple] | None = None) -> PatientOutcomes:
    """What the outcomes page shows for a patient the caller holds. The page itself needs only the charts and the
    headline figures (3 queries, one marking the values answered at home); `detail` adds doses, side effects,
    adverse events, rapid relief and durability (3 more queries), which the page loads on demand and the PDF and
    the letter print. `sessions` are the rows of `patient_rows.dosed_sessions` when the caller has already read
    them."""
    # One query: the dosed sessions with their peak dissociation and deepest sedation (plain SQL: patient_rows).
    if sessions is None:
        sessions = patient_rows.dosed_sessions(patient.pk)
    session_ids = [s[0] for s in sessions]
    peaks = {sid: (peak, low) for sid, _, _, _, peak, low in sessions}
    numbered = [s[:4] for s in sessions]
    mg: dict[int, Decimal] = {}
    effects: dict[int, set[str]] = defaultdict(set)
    aes: dict[int, int] = {}
    if detail:
        mg = dict(DoseAdministration.objects.filter(session_id__in=session_ids).values_list("session_id")
                  .annotate(mg=Sum("mg")).values_list("session_id", "mg"))
        for sid, listed in SideEffectCheck.objects.filter(session_id__in=session_ids).values_list("session_id",
                                                                                                   "effects"):
            effects[sid].update(listed or [])
        aes = dict(AdverseEvent.objects.filter(session_id__in=session_ids).values_list("session_id")
                   .annotate(n=Count("id")).values_list("session_id", "n"))
    rows = [SessionRow(sid, number, phase, at, mg.get(sid), *(peaks.get(sid) or (None, None)),
                       sorted(effects.get(sid, ())), aes.get(sid, 0))
            for sid, number, phase, at in numbered]
    doses = [r.dose_at for r in rows]

    # PHQ-9 item 9 is read in SQL: no JSON decoding of every response's item scores in Python.
    responses = patient_rows.current_responses(patient.pk, PHQ9_ITEM9)
    by_key: dict[str, list[Measurement]] = defaultdict(list)
    suicide: list[SuicideItem] = []
    for key, at, total, band, item9 in responses:
        if not plausible.shown(at):  # a value that cannot have happened is not plotted (core/plausible.py)
            continue
        if key == "cssrs-screen":
            suicide.append(SuicideItem(at, "C-SSRS screen", band or "—", CSSRS_LEVELS.get(band, 0)))
            continue
        if total is None:
            continue
        by_key[key].append(Measurement(at, cast(Decimal, total)))  # numeric as each database hands it back
        if key == "phq-9" and item9 is not None:
            value = int(Decimal(str(item9)))
            suicide.append(SuicideItem(at, "PHQ-9 item 9", PHQ9_ITEM9_LABELS.get(value, str(value)), value))
    trajectories = []
    home = patient_rows.home_response_times(patient.pk) if by_key else set()
    series = split_series(doses) if detail else []
    for key in sorted(by_key, key=lambda k: (k not in ("phq-9", "gad-7"), k)):
        definition = definitions.get(key)
        if definition is None:
            continue
        points = by_key[key]
        instrument = instruments().get(key)
        baseline = choose_baseline(points, first_dose_at=doses[0], definition=definition) if doses else None
        latest = None
        if baseline is not None:
            after = [m for m in points[-1:] if m.at > baseline.at]
            latest = point_outcomes(after, baseline=baseline, definition=definition)[-1] if after else None
        trajectory = InstrumentTrajectory(
            key=key, title=instrument.title if instrument else key, definition=definition, instrument=instrument,
            points=points, baseline=baseline, latest=latest, home=[m for m in points if (key, m.at) in home],
            time_to_response=time_to_first_response(points, baseline=baseline, first_dose_at=doses[0],
                                                    definition=definition) if baseline else None,
        )
        if detail and definition.rapid_relief is not None and doses:
            trajectory.relief = rapid_relief(points, dose_times=doses, definition=definition)
        if detail and baseline is not None:
            for n, run in enumerate(series):
                follow_up_end = series[n + 1][0] if n + 1 < len(series) else None
                trajectory.durability.append(SeriesDurability(
                    n + 1, len(run), run[0], run[-1],
                    relapse_after_series(points, baseline=baseline, last_dose_at=run[-1], definition=definition,
                                         follow_up_end=follow_up_end)))
        trajectories.append(trajectory)
    dissociation = [(r.dose_at, r.peak_cadss) for r in rows if r.peak_cadss is not None]
    return PatientOutcomes(doses, rows, trajectories, sorted(suicide, key=lambda s: s.at), dissociation)


def first_dose_at(patient_id: int) -> dt.datetime | None:
    """When the patient's first dose of a drug course was given (a psychotherapy course gives none)."""
    return (DosingSession.objects.filter(patient_id=patient_id, first_dose_at__isnull=False)
            .exclude(course__route=Route.NONE).aggregate(first=Min("first_dose_at"))["first"])


def changes_from_baseline(*, patient, series: Mapping[str, Sequence[Measurement]]
                          ) -> dict[str, tuple[Measurement | None, PointOutcome | None]]:
    """The outcomes page's change from baseline, for the chart's panels: the same baseline (choose_baseline: the
    last value on or before the first dose, within the definition's window) and the clinic's response and remission
    rules. `series` maps an instrument key to its scored values, oldest first. Only instruments with an outcome
    definition appear, and only once a dose has been given (before that there is no baseline to measure from).
    Returns {key: (baseline or None, outcome of the latest value or None when it is not after the baseline)}.
    Two queries: the first dose and the clinic's definitions."""
    keys = [key for key in series if key in DEFAULT_DEFINITIONS and series[key]]
    first_dose = first_dose_at(patient.pk) if keys else None
    if first_dose is None:
        return {}
    definitions = definitions_for_clinic(patient.clinic_id)
    result: dict[str, tuple[Measurement | None, PointOutcome | None]] = {}
    for key in keys:
        points, definition = series[key], definitions[key]
        baseline = choose_baseline(points, first_dose_at=first_dose, definition=definition)
        latest = point_outcomes(points[-1:], baseline=baseline, definition=definition) if baseline else []
        result[key] = (baseline, latest[-1] if latest else None)
    return result


def chart_baseline_changes(*, patient, series: Mapping[str, Sequence[tuple]]
                           ) -> dict[str, tuple[int | None, PointOutcome | None]]:
    """`changes_from_baseline` for the instruments app's chart panel (registered with it in AppConfig.ready), which
    passes (answered_at, total) pairs: the baseline comes back as its index in the pair list."""
    points = {key: [Measurement(at, total) for at, total in pairs] for key, pairs in series.items()}
    changes = changes_from_baseline(patient=patient, series=points)
    return {key: (points[key].index(baseline) if baseline else None, point)
            for key, (baseline, point) in changes.items()}


# --- letters ----------------------------------------------------------------------------------------------------


def letters_for(*, user, patient) -> QuerySet[ProgressLetter]:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return ProgressLetter.objects.none()
    return ProgressLetter.objects.filter(clinic_id=user.clinic_id, patient=patient)


def letter_get_for(*, user, letter_id: int) -> ProgressLetter:
    """Raises LetterNotFound whether the letter is absent or another clinic's."""
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        raise LetterNotFound()
    try:
        return ProgressLetter.objects.select_related("patient").get(pk=letter_id, clinic_id=user.clinic_id)
    except ProgressLetter.DoesNotExist:
        raise LetterNotFound() from None

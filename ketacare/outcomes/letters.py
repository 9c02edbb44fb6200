"""The figures a progress letter freezes when it is drafted, and the draft summary text a prescriber then edits."""

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.utils import timezone

from ketacare.outcomes.selectors import PatientOutcomes
from ketacare.screening.models import Intake
from ketacare.treatment.models import AdverseEvent, Course
from ketacare.treatment.selectors import protocol_base

SERIES_KEYS = ("phq-9", "gad-7", "lsas-sr", "lsas-cr", "spin", "mini-spin")
MAX_POINTS = 400


def _date(at: dt.datetime | None) -> str | None:
    return timezone.localtime(at).date().isoformat() if at else None


def _num(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def recipient_of(patient) -> dict[str, str]:
    """The referring clinician from the intake, to prefill the letter."""
    intake = Intake.objects.filter(patient=patient).values("referring_clinician", "referring_organization").first()
    if not intake:
        return {}
    return {"recipient_name": intake["referring_clinician"] or "",
            "recipient_organization": intake["referring_organization"] or ""}


def snapshot(patient, data: PatientOutcomes, *, today: dt.date) -> dict:
    """Everything the letter prints, as JSON: it never changes after drafting (a sent letter is a record)."""
    courses = [{
        "route": c.get_route_display(), "protocol": _protocol_title(c.protocol_ref), "start_on": c.start_on.isoformat(),
        "status": c.get_status_display(), "ended_on": _date(c.ended_at)}
        for c in Course.objects.filter(patient=patient).exclude(route="none").order_by("start_on", "id")]
    doses = [{"on": _date(s.dose_at), "phase": s.phase, "mg": _num(s.dose_mg), "peak_cadss": s.peak_cadss,
              "side_effects": s.side_effects} for s in data.sessions]
    scores = []
    series = {}
    for t in data.trajectories:
        latest = t.latest
        scores.append({
            "key": t.key, "title": t.title,
            "baseline": _num(t.baseline.total) if t.baseline else None,
            "baseline_on": _date(t.baseline.at) if t.baseline else None,
            "latest": _num(t.points[-1].total) if t.points else None,
            "latest_on": _date(t.points[-1].at) if t.points else None,
            "latest_band": _band(t, t.points[-1].total) if t.points else "",
            "change": _num(latest.change) if latest else None,
            "pct": _num(latest.pct_change) if latest and latest.pct_change is not None else None,
            "response": latest.is_response if latest else None,
            "remission": latest.is_remission if latest else None,
            "days_to_response": round(t.time_to_response.days) if t.time_to_response and
            t.time_to_response.event else None,
        })
        if t.key in SERIES_KEYS:
            series[t.key] = [[m.at.isoformat(), float(m.total)] for m in t.points[-MAX_POINTS:]]
    session_ids = [s.session_id for s in data.sessions]
    events = [{"on": _date(e.onset_at), "description": e.description, "severity": e.get_severity_display(),
               "serious": e.serious, "resolved": e.resolved_at is not None}
              for e in AdverseEvent.objects.filter(session_id__in=session_ids).order_by("onset_at")]
    effects = Counter(k for s in data.sessions for k in s.side_effects)
    suicide = data.suicide_items[-1] if data.suicide_items else None
    return {
        "drafted_on": today.isoformat(),
        "patient": {"name": patient.full_name, "date_of_birth": patient.date_of_birth.isoformat(), "mrn": patient.mrn},
        "courses": courses,
        "doses": doses,
        "dose_times": [d.isoformat() for d in data.doses],
        "scores": scores,
        "series": series,
        "adverse_events": events,
        "side_effects": sorted(effects.items(), key=lambda kv: -kv[1]),
        "peak_cadss": max((s.peak_cadss for s in data.sessions if s.peak_cadss is not None), default=None),
        "suicide_latest": {"on": _date(suicide.at), "source": suicide.source, "value": suicide.value}
        if suicide else None,
        "suicide_positive": sum(1 for s in data.suicide_items if s.level > 0),
    }


def _protocol_title(ref: str) -> str:
    try:
        return protocol_base(ref).title
    except Exception:  # an unknown or retired protocol: show its reference
        return ref


def _band(t, total) -> str:
    if t.instrument is None:
        return ""
    band = t.instrument.band_for(total)
    return band.label if band else ""


def draft_summary(snap: dict) -> str:
    """A neutral first draft built only from the figures; the prescriber rewrites it before sending."""
    lines = []
    doses = snap["doses"]
    if snap["courses"]:
        course = snap["courses"][0]
        lines.append(f"Treatment: {course['protocol']} ({course['route'].lower()}), started {course['start_on']}; "
                     f"{len(doses)} dosing session{'s' if len(doses) != 1 else ''} to date.")
    for s in snap["scores"]:
        if s["baseline"] is None or s["latest"] is None:
            continue
        status = ("in remission" if s["remission"] else "a response" if s["response"] else
                  "no response yet by the usual definition")
        lines.append(f"{s['title']}: {s['baseline']} at baseline ({s['baseline_on']}), {s['latest']} on "
                     f"{s['latest_on']} ({s['latest_band'].lower() or 'no band'}), which is {status}.")
    if snap["adverse_events"]:
        serious = sum(1 for e in snap["adverse_events"] if e["serious"])
        lines.append(f"Adverse events: {len(snap['adverse_events'])} ({serious} serious).")
    else:
        lines.append("No adverse events were recorded.")
    if snap["side_effects"]:
        common = ", ".join(k.replace("_", " ") for k, _ in snap["side_effects"][:3])
        lines.append(f"Most frequent transient side effects: {common}.")
    if snap["suicide_positive"]:
        lines.append(f"Suicide items were positive on {snap['suicide_positive']} occasion(s); each was assessed by "
                     "a clinician the same day.")
    lines.append("Plan: [the prescriber completes this before sending].")
    return "\n\n".join(lines)

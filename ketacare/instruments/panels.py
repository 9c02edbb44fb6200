"""The chart's "Questionnaires" panel: latest score per instrument with its band and change from baseline, and the
history. Query count is bounded (responses, their alerts, imported titles) whatever the history length."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ketacare.accounts.roles import Perm
from ketacare.instruments.domain.catalog import short_name
from ketacare.instruments.domain.model import ChangeClassification, Instrument
from ketacare.instruments.domain.scoring import classify_change
from ketacare.instruments.models import ImportedInstrument, QuestionnaireResponse
from ketacare.instruments.selectors import imported_instrument, responses_for, shipped_instruments
from ketacare.safety.selectors import alerts_for

# Once a dose has been given, the outcomes app owns the change from baseline for the instruments it follows; it
# registers its rule here from its AppConfig.ready (the dependency points from outcomes to instruments, never back).
# The function takes `patient` and `series` ({key: [(answered_at, total), ...]}, oldest first) and returns
# {key: (index of the baseline in that series or None, outcome of the latest value or None)}; an outcome has
# `at`, `is_response`, `is_remission`, `change` and `pct_change`.
BaselineChanges = Callable[..., dict[str, tuple[int | None, Any]]]
_baseline_changes: list[BaselineChanges] = []


def register_baseline_changes(function: BaselineChanges) -> None:
    _baseline_changes[:] = [function]


def _changes_from_baseline(*, patient, series: dict[str, list[tuple]]) -> dict[str, tuple[int | None, Any]]:
    return _baseline_changes[0](patient=patient, series=series) if _baseline_changes else {}


QUICK_KEYS = ("phq-9", "gad-7", "lsas-sr", "cssrs-screen", "vas-anxiety")
SOURCE_TYPE = "questionnaire_response"


@dataclass
class Summary:
    key: str
    title: str
    latest: QuestionnaireResponse
    baseline: QuestionnaireResponse | None
    change: ChangeClassification | None
    band_label: str
    count: int
    no_baseline: bool = False  # treatment started without a value in the baseline window before the first dose


def panel_context(request, patient, *, instrument_key: str | None = None) -> dict:
    user = request.user
    responses: list[Any] = list(responses_for(user=user, patient=patient))  # annotated below for display
    instruments = _instruments_for({r.instrument_key for r in responses})
    alert_codes: dict[int, list] = {}
    for alert in alerts_for(user=user, patient=patient).filter(source_type=SOURCE_TYPE):
        alert_codes.setdefault(alert.source_id, []).append(alert)
    for response in responses:
        response.raised_alerts = alert_codes.get(response.pk, [])
        response.band_label = _band_label(instruments.get(response.instrument_key), response.band)
        response.title = _short_title(instruments.get(response.instrument_key), response.instrument_key)
        response.amended = _is_superseded(response)
    summaries = _summaries(responses, instruments, patient)
    history = [r for r in responses if not instrument_key or r.instrument_key == instrument_key]
    shipped = shipped_instruments()
    return {
        "summaries": summaries,
        "history": history,
        "history_filter": instrument_key or "",
        "history_choices": [(s.key, s.title) for s in summaries],
        "quick": [(key, _short_title(shipped[key], key)) for key in QUICK_KEYS if key in shipped],
        "can_record": user.has_perm_to(Perm.CLINICAL_RECORD),
        "patient": patient,
    }


def _instruments_for(keys: set[str]) -> dict[str, Instrument]:
    shipped = shipped_instruments()
    found = {key: shipped[key] for key in keys if key in shipped}
    missing = keys - set(found)
    if missing:
        for row in ImportedInstrument.objects.filter(key__in=missing).order_by("id"):
            found[row.key] = imported_instrument(row)
    return found


def _summaries(responses: list[Any], instruments: dict[str, Instrument], patient) -> list[Summary]:
    """Latest response per instrument with its change from baseline. Once a dose has been given, the outcomes app
    owns that change for the instruments it follows (one rule for the chart and the outcomes page: its baseline
    window, the clinic's response and remission definitions); otherwise it is the instrument's own rule, measured
    from the first scored response."""
    current = [r for r in responses if not r.amended]
    by_key: dict[str, list[QuestionnaireResponse]] = {}
    for response in sorted(current, key=lambda r: (r.answered_at, r.pk)):
        by_key.setdefault(response.instrument_key, []).append(response)
    scored = {key: [r for r in series if r.total is not None] for key, series in by_key.items()}
    points = {key: [(r.answered_at, r.total) for r in series] for key, series in scored.items()}
    outcomes = _changes_from_baseline(patient=patient, series=points)
    summaries = []
    for key, series in by_key.items():
        instrument = instruments.get(key)
        latest = series[-1]
        change = None
        if key in outcomes:
            baseline_index, point = outcomes[key]
            baseline = scored[key][baseline_index] if baseline_index is not None else None
            if point is not None and point.at == latest.answered_at:
                change = ChangeClassification(point.is_response, point.is_remission, point.change, point.pct_change)
        else:
            baseline = scored[key][0] if scored[key] else None
            if (instrument is not None and baseline is not None and latest.total is not None
                    and baseline.total is not None and baseline.pk != latest.pk):
                change = classify_change(instrument, Decimal(baseline.total), Decimal(latest.total))
        summaries.append(Summary(key=key, title=_short_title(instrument, key), latest=latest, baseline=baseline,
                                 change=change, band_label=_band_label(instrument, latest.band), count=len(series),
                                 no_baseline=key in outcomes and baseline is None))
    summaries.sort(key=lambda s: s.latest.answered_at, reverse=True)
    return summaries


def _is_superseded(response: QuestionnaireResponse) -> bool:
    try:
        return response.superseded_by is not None
    except QuestionnaireResponse.DoesNotExist:
        return False


def _band_label(instrument: Instrument | None, band: str) -> str:
    if not band:
        return ""
    if instrument is not None:
        for candidate in instrument.bands:
            if candidate.code == band:
                return candidate.label.partition(": ")[0]  # C-SSRS labels carry the action after a colon
    return band


def _short_title(instrument: Instrument | None, key: str) -> str:
    return short_name(key, instrument.title if instrument else None)

"""Default outcome definitions match the cut-offs in docs/domain/instruments.md; clinics can override them."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ketacare.outcomes.domain.definitions import (
    DEFAULT_DEFINITIONS,
    OutcomeDefinition,
    RelapseKind,
    RelapseRule,
    definition_for,
)

# (key, response %, strict ">", remission max total inclusive) — instruments.md §1.2, §2.2, §3, §4, §5, §12.
PUBLISHED = [
    ("phq-9", Decimal(50), False, Decimal(4)),  # >= 50 %, total < 5
    ("gad-7", Decimal(50), False, Decimal(4)),  # >= 50 %, total < 5
    ("lsas-cr", Decimal(35), True, Decimal(29)),  # > 35 % (Taylor 2018); below the >= 30 cut-off
    ("lsas-sr", Decimal(35), True, Decimal(29)),
    ("spin", Decimal(50), False, Decimal(18)),  # below the >= 19 cut-off
    ("mini-spin", Decimal(50), False, Decimal(5)),  # below the >= 6 positive screen
    ("vas-anxiety", Decimal(50), False, None),  # 50 % reduction (Taylor 2018); no remission rule
]


@pytest.mark.parametrize(("key", "pct", "strict", "remission"), PUBLISHED)
def test_defaults_match_the_published_cut_offs(key, pct, strict, remission):
    d = DEFAULT_DEFINITIONS[key]
    assert (d.response_pct_reduction, d.response_strict, d.remission_max_total) == (pct, strict, remission)


def test_every_default_cites_its_source_and_there_are_no_others():
    assert set(DEFAULT_DEFINITIONS) == {key for key, *_ in PUBLISHED}
    for d in DEFAULT_DEFINITIONS.values():
        assert ".md §" in d.source, d.instrument_key


def test_rapid_relief_defaults_to_taylor_three_hours_only_where_measured_acutely():
    with_window = {k for k, d in DEFAULT_DEFINITIONS.items() if d.rapid_relief is not None}
    assert with_window == {"lsas-cr", "vas-anxiety"}
    assert DEFAULT_DEFINITIONS["vas-anxiety"].rapid_relief.hours_after == timedelta(hours=3)


def test_baseline_window_follows_the_recall_period():
    assert DEFAULT_DEFINITIONS["phq-9"].baseline_window == timedelta(days=14)
    assert DEFAULT_DEFINITIONS["lsas-sr"].baseline_window == timedelta(days=7)


def test_clinic_override_changes_only_that_instrument_and_records_provenance():
    overrides = {"phq-9": {"response_pct_reduction": Decimal(40), "remission_max_total": Decimal(5)}}
    phq9 = definition_for("phq-9", overrides)
    assert phq9.response_pct_reduction == Decimal(40)
    assert phq9.remission_max_total == Decimal(5)
    assert phq9.source.startswith("clinic override (remission_max_total, response_pct_reduction)")
    assert definition_for("gad-7", overrides) == DEFAULT_DEFINITIONS["gad-7"]
    assert definition_for("phq-9") is DEFAULT_DEFINITIONS["phq-9"]


def test_override_is_validated():
    with pytest.raises(ValueError, match="loss-of-remission"):
        definition_for("vas-anxiety", {"vas-anxiety": {"relapse": RelapseRule(kind=RelapseKind.LOSS_OF_REMISSION)}})


def test_unknown_instrument_is_an_error():
    with pytest.raises(KeyError, match="cadss"):
        definition_for("cadss")


@pytest.mark.parametrize("pct", [Decimal(0), Decimal(-5), Decimal(101)])
def test_response_percentage_must_be_in_range(pct):
    with pytest.raises(ValueError, match="response_pct_reduction"):
        OutcomeDefinition(
            instrument_key="x",
            response_pct_reduction=pct,
            response_strict=False,
            remission_max_total=None,
            relapse=RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE),
        )


def test_relapse_rule_validation():
    with pytest.raises(ValueError):
        RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, consecutive=0)
    with pytest.raises(ValueError):
        RelapseRule(kind=RelapseKind.PCT_OF_BASELINE)
    with pytest.raises(ValueError):
        RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, end_of_series_within=timedelta(0))


# --- one source of truth: the instrument definition files ------------------------------------------------------


def test_response_and_remission_agree_with_the_instrument_engine_on_every_total():
    """For every instrument both modules know, outcomes' rules classify every (baseline, total) pair exactly as
    the instruments engine does: they come from the same definition file."""
    from ketacare.instruments.domain.registry import load_shipped
    from ketacare.instruments.domain.scoring import classify_change
    from ketacare.outcomes.domain.trajectory import is_remission, is_response

    shipped = load_shipped()
    for key, d in DEFAULT_DEFINITIONS.items():
        instrument = shipped[key]
        low, high = instrument.total_range
        for baseline in range(int(low) + 1, int(high) + 1, max(1, int(high) // 20)):
            for total in range(int(low), int(high) + 1):
                engine = classify_change(instrument, baseline, total)
                if instrument.response is not None:
                    assert is_response(Decimal(baseline), Decimal(total), d) == engine.response, (key, baseline, total)
                if instrument.remission is not None:
                    assert is_remission(Decimal(total), d) == engine.remission, (key, total)


def test_a_changed_instrument_file_changes_the_outcome_definition():
    from dataclasses import replace

    from ketacare.instruments.domain.model import Criterion, CriterionKind
    from ketacare.instruments.domain.registry import load_shipped
    from ketacare.outcomes.domain.definitions import OUTCOME_EXTRAS, build_definitions

    shipped = load_shipped()
    phq9 = replace(
        shipped["phq-9"],
        response=Criterion(CriterionKind.REDUCTION_PCT_ABOVE, Decimal(40), "test"),
        remission=Criterion(CriterionKind.TOTAL_AT_MOST, Decimal(6), "test"),
    )
    built = build_definitions({**shipped, "phq-9": phq9}, OUTCOME_EXTRAS)
    assert (built["phq-9"].response_pct_reduction, built["phq-9"].response_strict) == (Decimal(40), True)
    assert built["phq-9"].remission_max_total == Decimal(6)
    assert "response from phq-9@1.0.0: test" in built["phq-9"].source


def test_an_outcomes_fallback_that_contradicts_the_instrument_is_refused():
    from dataclasses import replace

    from ketacare.instruments.domain.registry import load_shipped
    from ketacare.outcomes.domain.definitions import OUTCOME_EXTRAS, build_definitions

    extras = {**OUTCOME_EXTRAS, "phq-9": replace(OUTCOME_EXTRAS["phq-9"], fallback_remission_max_total=Decimal(9))}
    with pytest.raises(ValueError, match="defines remission"):
        build_definitions(load_shipped(), extras)


def test_total_below_remission_needs_whole_number_totals():
    from dataclasses import replace

    from ketacare.instruments.domain.model import Criterion, CriterionKind
    from ketacare.instruments.domain.registry import load_shipped
    from ketacare.outcomes.domain.definitions import OUTCOME_EXTRAS, definition_from_instrument

    shipped = load_shipped()
    half = replace(shipped["gad-7"], remission=Criterion(CriterionKind.TOTAL_BELOW, Decimal("4.5"), "x"))
    assert definition_from_instrument(half, OUTCOME_EXTRAS["gad-7"]).remission_max_total == Decimal(4)
    items = tuple(replace(i, range=None) for i in shipped["vas-anxiety"].items)
    odd = replace(shipped["vas-anxiety"], items=items,
                  remission=Criterion(CriterionKind.TOTAL_BELOW, Decimal(5), "x"))
    with pytest.raises(ValueError, match="whole-number"):
        definition_from_instrument(odd, OUTCOME_EXTRAS["vas-anxiety"])

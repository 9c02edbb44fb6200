"""Response and remission per instrument (docs/domain/instruments.md §1.2, §2.2, §3, §11, §12)."""

from decimal import Decimal

import pytest

from ketacare.instruments.domain.scoring import classify_change
from ketacare.instruments.tests.support import shipped


@pytest.mark.parametrize(
    ("key", "baseline", "current", "response", "remission"),
    [
        # PHQ-9 §1.2: response >= 50 % reduction, remission total < 5.
        ("phq-9", 20, 10, True, False),
        ("phq-9", 20, 11, False, False),
        ("phq-9", 8, 4, True, True),
        ("phq-9", 9, 5, False, False),
        # GAD-7 §2.2: same convention.
        ("gad-7", 16, 8, True, False),
        ("gad-7", 16, 4, True, True),
        ("gad-7", 16, 9, False, False),
        # LSAS §3: response > 35 % reduction (strictly); no remission definition.
        ("lsas-sr", 100, 65, False, None),
        ("lsas-sr", 100, 64, True, None),
        ("lsas-cr", 80, 52, False, None),  # exactly 35 %
        ("lsas-cr", 80, 51, True, None),
        # VAS-Anxiety §12: 50 % reduction (Taylor 2018).
        ("vas-anxiety", 80, 40, True, None),
        ("vas-anxiety", 80, 41, False, None),
        # CGI-I §11: responder = 1 or 2, judged on the rating itself.
        ("cgi-i", None, 2, True, None),
        ("cgi-i", None, 3, False, None),
        # No definitions published.
        ("spin", 40, 10, None, None),
        ("moaas", 2, 5, None, None),
    ],
)
def test_response_and_remission_follow_the_published_definitions(key, baseline, current, response, remission):
    result = classify_change(shipped()[key], baseline, current)
    assert (result.response, result.remission) == (response, remission)


def test_change_and_percentage_are_signed_from_baseline():
    result = classify_change(shipped()["phq-9"], 18, 12)
    assert result.change == -6
    assert result.pct == Decimal(-6) * 100 / 18
    worse = classify_change(shipped()["phq-9"], 10, 15)
    assert (worse.change, worse.pct, worse.response) == (5, 50, False)


def test_a_zero_baseline_has_no_percentage_and_no_response():
    result = classify_change(shipped()["phq-9"], 0, 0)
    assert result.pct is None and result.change == 0
    assert result.response is False and result.remission is True


def test_a_reduction_criterion_needs_a_baseline():
    with pytest.raises(ValueError, match="baseline"):
        classify_change(shipped()["phq-9"], None, 3)


def test_float_totals_are_refused():
    with pytest.raises(ValueError):
        classify_change(shipped()["phq-9"], 10.0, 3)

"""C-SSRS screener: exhaustive checks against a re-statement of docs/domain/instruments.md §6.1-6.2."""

import itertools

import pytest

from ketacare.instruments.domain.model import Alert, InvalidAnswer, ScoreStatus, Severity
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import shipped

ORDER = ("1", "2", "3", "4", "5", "6", "6a")  # answer-list order: Q1..Q6, then 6a
LEVELS = ["none", "low", "moderate", "high"]
LEVEL_ALERTS = {
    "high": Alert("cssrs.high_risk", Severity.HIGH),
    "moderate": Alert("cssrs.moderate_risk", Severity.MODERATE),
    "low": Alert("cssrs.low_risk", Severity.LOW),
}


def expected_level(q1, q2, q3, q4, q5, q6, q6a) -> str:
    """§6.2 restated as "the highest level any row reaches" (unanswered counts as no)."""
    reached = ["none"]
    if q1 == 1 or q2 == 1:
        reached.append("low")  # ideation without method, intent or plan
    if q3 == 1 or q6 == 1:
        reached.append("moderate")  # method considered, or suicidal behaviour at any time
    if q4 == 1 or q5 == 1 or (q6 == 1 and q6a == 1):
        reached.append("high")  # intent or plan, or behaviour within 3 months
    return max(reached, key=LEVELS.index)


def expected_missing(q1, q2, q3, q4, q5, q6, q6a) -> tuple[str, ...]:
    """§6.1: Q1, Q2, Q6 always asked; Q3-Q5 unless Q2 = no; 6a unless Q6 = no."""
    asked = {"1", "2", "6"} | ({"3", "4", "5"} if q2 != 0 else set()) | ({"6a"} if q6 != 0 else set())
    values = dict(zip(ORDER, (q1, q2, q3, q4, q5, q6, q6a), strict=True))
    return tuple(link for link in ORDER if link in asked and values[link] is None)


def expected_conflict(q1, q2, q3, q4, q5, q6, q6a) -> bool:
    """A "yes" to a question the skip logic hides: still counted, but flagged ("no" agrees with the skip)."""
    return (q2 == 0 and 1 in (q3, q4, q5)) or (q6 == 0 and q6a == 1)


@pytest.mark.parametrize("answers", list(itertools.product((0, 1), repeat=7)))
def test_every_combination_of_the_seven_answers_matches_the_triage_table(answers):
    result = score(shipped()["cssrs-screen"], list(answers))
    level = expected_level(*answers)
    assert result.status is ScoreStatus.COMPLETE
    assert result.band == level
    assert result.total is None  # a category, never a sum
    expected_alerts = [LEVEL_ALERTS[level]] if level in LEVEL_ALERTS else []
    if expected_conflict(*answers):
        expected_alerts.append(Alert("cssrs.answered_when_skipped", Severity.PROMPT))
    assert list(result.alerts) == expected_alerts


def test_every_pattern_with_unanswered_questions_follows_the_skip_logic():
    cssrs = shipped()["cssrs-screen"]
    for answers in itertools.product((0, 1, None), repeat=7):
        result = score(cssrs, list(answers))
        missing = expected_missing(*answers)
        floor = expected_level(*answers)
        assert result.missing == missing, answers
        if missing:
            assert result.status is ScoreStatus.INCOMPLETE and result.band is None, answers
            assert Alert("cssrs.incomplete", Severity.PROMPT) in result.alerts, answers
        else:
            assert result.status is ScoreStatus.COMPLETE and result.band == floor, answers
        # A level already proven by the answers given is alerted even when the screen is incomplete.
        if floor in LEVEL_ALERTS:
            assert LEVEL_ALERTS[floor] in result.alerts, answers
        assert sum(a.code.endswith("_risk") for a in result.alerts) == (floor in LEVEL_ALERTS), answers
        conflict = Alert("cssrs.answered_when_skipped", Severity.PROMPT) in result.alerts
        assert conflict is expected_conflict(*answers), answers


def test_risk_is_not_the_number_of_yes_answers():
    cssrs = shipped()["cssrs-screen"]
    three_yes = score(cssrs, [1, 1, 1, 0, 0, 0])  # method considered, no intent
    one_yes = score(cssrs, {"1": "no", "2": "no", "4": "yes", "6": "no"})  # intent (answered although skipped)
    assert three_yes.band == "moderate"
    assert one_yes.band == "high"


def test_skipped_questions_are_not_missing():
    cssrs = shipped()["cssrs-screen"]
    result = score(cssrs, {"1": "yes", "2": "no", "6": "no"})
    assert result.status is ScoreStatus.COMPLETE
    assert result.band == "low"
    assert result.alerts == (Alert("cssrs.low_risk", Severity.LOW),)


def test_recent_behaviour_is_high_and_older_behaviour_moderate():
    cssrs = shipped()["cssrs-screen"]
    assert score(cssrs, [0, 0, None, None, None, 1, 1]).band == "high"
    assert score(cssrs, [0, 0, None, None, None, 1, 0]).band == "moderate"
    unknown_timing = score(cssrs, [0, 0, None, None, None, 1])
    assert unknown_timing.missing == ("6a",)
    assert LEVEL_ALERTS["moderate"] in unknown_timing.alerts


def test_cssrs_answers_are_yes_no_only():
    with pytest.raises(InvalidAnswer) as error:
        score(shipped()["cssrs-screen"], {"1": 2})
    assert error.value.link_id == "1"

"""Safety rules as data: PHQ-9 item 9, MOAA/S sedation, CADSS dissociation, BPRS+ psychotic symptoms.

Thresholds restated from docs/domain/instruments.md §1.3, §7, §8, §9, §13.4.
"""

from decimal import Decimal

import pytest

from ketacare.instruments.domain.model import Alert, ScoreStatus, Severity
from ketacare.instruments.domain.safety import effective_thresholds, threshold_bounds
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import shipped

ITEM9 = "/44260-8"


def codes(result):
    return [alert.code for alert in result.alerts]


@pytest.mark.parametrize(("item9", "alerted"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_at_least_1_raises_a_high_alert(item9, alerted):
    # instruments.md §1.3: any answer other than "Not at all" -> same-day clinician assessment.
    result = score(shipped()["phq-9"], [0, 0, 0, 0, 0, 0, 0, 0, item9])
    assert (Alert("phq9.item9_positive", Severity.HIGH) in result.alerts) is alerted
    assert "phq9.item9_unanswered" not in codes(result)


def test_phq9_item9_alert_fires_even_when_other_items_are_missing():
    result = score(shipped()["phq-9"], {ITEM9: "LA6569-3"})
    assert result.status is ScoreStatus.INCOMPLETE
    assert Alert("phq9.item9_positive", Severity.HIGH) in result.alerts


def test_missing_phq9_item9_prompts_a_clinician_and_is_never_zero():
    result = score(shipped()["phq-9"], [3, 3, 3, 3, 3, 3, 3, 3])
    assert result.alerts == (Alert("phq9.item9_unanswered", Severity.PROMPT),)
    assert result.status is ScoreStatus.INCOMPLETE
    assert result.total is None and result.missing == (ITEM9,)


def test_a_clinic_threshold_applies_per_call():
    moaas = shipped()["moaas"]
    assert "moaas.sedation" in codes(score(moaas, [3]))  # the cited default: level 3 or lower
    assert "moaas.sedation" not in codes(score(moaas, [3], thresholds={"moaas.sedation": 2}))
    assert "moaas.sedation" in codes(score(moaas, [2], thresholds={"moaas.sedation": 2}))


def test_the_item9_rule_is_fixed_for_every_clinic():
    # instruments.md §1.3 [C]: any answer other than "Not at all" calls for a same-day suicide-risk assessment.
    phq9 = shipped()["phq-9"]
    for value in (2, 3):
        with pytest.raises(ValueError, match="fixed by its source"):
            score(phq9, [0] * 8 + [1], thresholds={"phq9.item9_positive": value})
    assert "phq9.item9_positive" in codes(score(phq9, [0] * 8 + [1], thresholds={"phq9.item9_positive": 1}))


def test_threshold_overrides_naming_an_unknown_rule_or_a_rule_without_threshold_are_refused():
    phq9 = shipped()["phq-9"]
    with pytest.raises(ValueError, match="no safety rule"):
        score(phq9, [0] * 9, thresholds={"phq9.item9_postive": 2})
    with pytest.raises(ValueError, match="has no threshold"):
        score(phq9, [0] * 9, thresholds={"phq9.item9_unanswered": 1})
    with pytest.raises(ValueError, match="int or Decimal"):
        score(phq9, [0] * 9, thresholds={"phq9.item9_positive": 1.5})


@pytest.mark.parametrize(("key", "code", "low", "high"), [
    ("moaas", "moaas.sedation", 0, 4),  # levels 0-5: <= 5 fires on every rating
    ("bprs-positive", "bprs.item_moderate", 2, 7),  # items rated 1-7
    ("bprs-positive", "bprs.rise", 1, 24),  # total 4-28
    ("cadss-23", "cadss.dissociation", 0, 91),  # total 0-92, "above"
])
def test_a_threshold_override_must_leave_the_rule_able_to_fire(key, code, low, high):
    instrument = shipped()[key]
    rule = next(r for r in instrument.safety_rules if r.code == code)
    assert threshold_bounds(instrument, rule) == (low, high)
    assert low <= rule.threshold <= high
    for value in (low, high):
        assert effective_thresholds(instrument, {code: value})[code] == value
    for value in (low - 1, high + 1):
        with pytest.raises(ValueError, match="between"):
            effective_thresholds(instrument, {code: value})


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (5, []),
        (4, []),  # mild sedation: no alert (instruments.md §8)
        (3, [("moaas.sedation", Severity.HIGH)]),
        (2, [("moaas.sedation", Severity.HIGH)]),
        (1, [("moaas.sedation", Severity.HIGH), ("moaas.emergency", Severity.EMERGENCY)]),
        (0, [("moaas.sedation", Severity.HIGH), ("moaas.emergency", Severity.EMERGENCY)]),
    ],
)
def test_moaas_sedation_alerts(level, expected):
    assert list(score(shipped()["moaas"], [level]).alerts) == expected


def test_missing_moaas_prompts_a_clinician():
    result = score(shipped()["moaas"], {})
    assert result.alerts == (Alert("moaas.unanswered", Severity.PROMPT),)


def _cadss(total: int):
    return score(shipped()["cadss-23"], [1] * total + [0] * (23 - total))


@pytest.mark.parametrize(("total", "alerted"), [(0, False), (4, False), (5, True), (23, True)])
def test_cadss_total_above_4_is_dissociation(total, alerted):
    # instruments.md §7: CADSS total > 4 and change > 0; without a pre-dose score the total alone decides.
    assert ("cadss.dissociation" in codes(_cadss(total))) is alerted


@pytest.mark.parametrize(("pre", "post", "alerted"), [(0, 5, True), (4, 5, True), (5, 5, False), (8, 6, False)])
def test_cadss_dissociation_needs_a_rise_from_the_pre_dose_score(pre, post, alerted):
    result = score(shipped()["cadss-23"], [1] * post + [0] * (23 - post), baseline=_cadss(pre))
    assert ("cadss.dissociation" in codes(result)) is alerted


def test_bprs_any_item_at_least_4_alerts():
    bprs = shipped()["bprs-positive"]
    assert codes(score(bprs, [3, 3, 3, 3])) == []
    assert codes(score(bprs, [1, 4, 1, 1])) == ["bprs.item_moderate"]


@pytest.mark.parametrize(
    ("pre", "post", "alerted"), [([1, 1, 1, 1], [2, 2, 2, 1], True), ([1, 1, 1, 1], [2, 2, 1, 1], False)]
)
def test_bprs_total_rise_of_3_from_pre_dose_alerts(pre, post, alerted):
    bprs = shipped()["bprs-positive"]
    result = score(bprs, post, baseline=score(bprs, pre))
    assert ("bprs.rise" in codes(result)) is alerted
    assert "bprs.rise" not in codes(score(bprs, post))  # no pre-dose score: a rise cannot be judged


def test_missing_bprs_item_prompts_a_clinician():
    result = score(shipped()["bprs-positive"], [1, 1, 1])
    assert result.alerts == (Alert("bprs.incomplete", Severity.PROMPT),)


def test_baseline_of_another_instrument_is_refused():
    with pytest.raises(ValueError, match="baseline"):
        score(shipped()["cadss-23"], [0] * 23, baseline=score(shipped()["cadss-6"], [0] * 6))


def test_instruments_without_rules_raise_no_alerts():
    for key in ("gad-7", "lsas-sr", "spin", "mini-spin", "cadss-6", "cgi-s", "vas-anxiety", "pain-nrs"):
        instrument = shipped()[key]
        worst = {i.link_id: int(i.weight_range[1]) for i in instrument.scored_items}
        assert score(instrument, worst).alerts == (), key


def test_every_threshold_rule_cites_a_domain_section():
    for instrument in shipped().values():
        for rule in instrument.safety_rules:
            assert "§" in rule.source and ".md" in rule.source, rule.code
            if rule.threshold is not None:
                assert isinstance(rule.threshold, Decimal)

"""Reading alerts: clinic and role scoping, urgency order, suicide-risk check, banner count."""

import pytest

from ketacare.accounts.roles import Role
from ketacare.safety import selectors
from ketacare.safety.choices import AlertSeverity
from ketacare.safety.domain.rules import SUICIDE_RISK_CODES
from ketacare.safety.services import alert_acknowledge
from ketacare.safety.tests.factories import AlertFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_alerts_for_is_the_users_clinic_open_first_most_urgent_first(patient, nurse, foreign_patient):
    low = AlertFactory(patient=patient, severity="low", code="cssrs.low_risk")
    emergency = AlertFactory(patient=patient, severity="emergency", code="moaas.emergency")
    high = AlertFactory(patient=patient, severity="high")
    done = alert_acknowledge(alert=AlertFactory(patient=patient, severity="emergency", code="x"), actor=nurse,
                             action="ok")
    AlertFactory(patient=foreign_patient)
    assert list(selectors.alerts_for(user=nurse)) == [emergency, high, low, done]
    assert list(selectors.alerts_for(user=nurse, status="acknowledged")) == [done]
    assert selectors.alerts_for(user=UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic)).count() == 0
    with pytest.raises(selectors.AlertNotFound):
        selectors.alert_get_for(user=nurse, alert_id=AlertFactory(patient=foreign_patient).pk)


def test_open_alerts_for_patient_by_minimum_severity(patient):
    AlertFactory(patient=patient, severity="prompt", code="a")
    AlertFactory(patient=patient, severity="moderate", code="b")
    AlertFactory(patient=patient, severity="high", code="c")
    assert [a.code for a in selectors.open_alerts_for_patient(patient=patient)] == ["c", "b", "a"]
    assert [a.code for a in selectors.open_alerts_for_patient(patient=patient, min_severity="moderate")] == ["c", "b"]
    assert AlertSeverity.at_least("high") == ["emergency", "high"]


@pytest.mark.parametrize("code", sorted(SUICIDE_RISK_CODES))
def test_an_open_suicide_risk_alert_blocks_until_acknowledged(patient, prescriber, code):
    assert not selectors.open_high_suicide_risk(patient=patient)
    alert = AlertFactory(patient=patient, code=code)
    assert selectors.open_high_suicide_risk(patient=patient)
    alert_acknowledge(alert=alert, actor=prescriber, action="Assessed: may proceed")
    assert not selectors.open_high_suicide_risk(patient=patient)


@pytest.mark.parametrize("code", ["cssrs.low_risk", "moaas.sedation", "bprs.item_moderate", "cadss.dissociation"])
def test_other_alerts_are_not_suicide_risk(patient, code):
    AlertFactory(patient=patient, code=code)
    assert not selectors.open_high_suicide_risk(patient=patient)


def test_every_suicide_risk_code_is_a_rule_of_a_shipped_instrument():
    from ketacare.instruments.domain.registry import load_shipped

    codes = {rule.code for i in load_shipped().values() for rule in i.safety_rules}
    assert SUICIDE_RISK_CODES <= codes


def test_the_banner_counts_open_emergency_and_high_alerts_of_the_clinic(patient, foreign_patient,
                                                                        django_assert_num_queries):
    AlertFactory(patient=patient, severity="high")
    AlertFactory(patient=patient, severity="emergency", code="moaas.emergency")
    AlertFactory(patient=patient, severity="moderate", code="m")
    AlertFactory(patient=foreign_patient, severity="high")
    with django_assert_num_queries(1):
        assert selectors.banner_alert_count(clinic_id=patient.clinic_id) == 2


def test_the_banner_count_is_cached_and_dropped_when_an_alert_changes(nurse, patient):
    from ketacare.core.banners import cached_count
    from ketacare.safety.banners import open_high_alerts

    class Request:
        user = nurse

    assert open_high_alerts(Request()) == []
    assert cached_count("safety.open_high_alerts", nurse.clinic_id, lambda: 99) == 0  # served from the cache
    alert = AlertFactory(patient=patient, severity="high")
    banner = open_high_alerts(Request())
    assert banner and banner[0]["count"] == 1
    alert_acknowledge(actor=nurse, alert=alert, action="Called the patient; safety plan reviewed.")
    assert open_high_alerts(Request()) == []

"""Who is told about an urgent alert and when it escalates (safety/domain/oncall.py; instruments.md §1.3, §6.3)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.safety.domain.oncall import (
    Rota,
    escalation_due_at,
    is_urgent,
    next_tier,
    tier_recipients,
    validate_delay,
)

T0 = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("code", "severity", "urgent"), [
    ("phq9.item9_positive", "high", True), ("phq9.item9_unanswered", "prompt", True),
    ("cssrs.high_risk", "emergency", True), ("cssrs.moderate_risk", "high", True),
    ("cssrs.incomplete", "prompt", True),
    ("vitals.spo2.low", "emergency", True), ("vitals.bp.high", "high", False),
    ("vitals.overdue.15min", "moderate", False),
])
def test_suicide_risk_and_emergency_alerts_are_urgent(code, severity, urgent):
    assert is_urgent(code=code, severity=severity) is urgent


@pytest.mark.parametrize(("rota", "tiers"), [
    (Rota(on_call=1, backup=2, fallback=3, admins=(9,)), [(1,), (2,), (9,)]),
    (Rota(on_call=1, backup=None, fallback=3, admins=(9,)), [(1,), (3,), (9,)]),
    (Rota(on_call=None, backup=None, fallback=3, admins=(9,)), [(3,), (), (9,)]),  # fallback first, no second
    (Rota(on_call=3, backup=None, fallback=3, admins=(9, 3)), [(3,), (), (9,)]),  # nobody told twice
    (Rota(on_call=None, backup=None, fallback=None, admins=(8, 9)), [(), (), (8, 9)]),
])
def test_the_tiers_of_a_rota(rota, tiers):
    assert [tier_recipients(rota, t) for t in (1, 2, 3)] == tiers


def test_an_empty_tier_is_skipped_so_someone_is_always_told():
    rota = Rota(on_call=None, backup=None, fallback=None, admins=(9,))
    assert next_tier(rota, 0) == (3, (9,))
    assert next_tier(Rota(on_call=None, backup=None, fallback=3, admins=(9,)), 1) == (3, (9,))
    assert next_tier(rota, 3) is None


@given(st.integers(1, 3), st.integers(1, 240))
def test_each_tier_waits_one_more_delay(tier, minutes):
    delay = dt.timedelta(minutes=minutes)
    assert escalation_due_at(raised_at=T0, tier_reached=tier, delay=delay) == T0 + tier * delay


def test_delay_bounds():
    assert validate_delay(15) == [] and validate_delay(1) == [] and validate_delay(240) == []
    assert validate_delay(0) and validate_delay(241)
    with pytest.raises(ValueError):
        escalation_due_at(raised_at=T0, tier_reached=0, delay=dt.timedelta(minutes=5))
    with pytest.raises(ValueError):
        tier_recipients(Rota(None, None, None, ()), 4)

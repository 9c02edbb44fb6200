"""The delivery policy and the disclosure check (pure Python, no database)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.messaging.domain import phi
from ketacare.messaging.domain.retry import RetryPolicy

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    policy = RetryPolicy(max_attempts=10, base=dt.timedelta(seconds=30), cap=dt.timedelta(minutes=5))
    assert [policy.delay_after(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_no_next_attempt_after_the_last_one():
    policy = RetryPolicy(max_attempts=3)
    assert policy.next_attempt_at(attempt=2, now=NOW) == NOW + dt.timedelta(seconds=60)
    assert policy.next_attempt_at(attempt=3, now=NOW) is None


@given(st.integers(1, 20), st.integers(1, 600), st.integers(0, 10_000), st.integers(1, 60))
def test_delays_never_shrink_and_never_pass_the_cap(max_attempts, base_s, extra_s, attempt):
    base = dt.timedelta(seconds=base_s)
    policy = RetryPolicy(max_attempts=max_attempts, base=base, cap=base + dt.timedelta(seconds=extra_s))
    assert base <= policy.delay_after(attempt) <= policy.cap
    assert policy.delay_after(attempt) <= policy.delay_after(attempt + 1)
    assert (policy.next_attempt_at(attempt=attempt, now=NOW) is None) == (attempt >= max_attempts)


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base": dt.timedelta(0)},
                                    {"base": dt.timedelta(seconds=10), "cap": dt.timedelta(seconds=5)}])
def test_a_policy_that_makes_no_sense_is_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_drug_diagnosis_and_score_words_are_found():
    text = "Your esketamine session: PHQ-9 score 14, depression improving"
    assert phi.findings(text) == ["depression", "esketamine", "phq-9", "score"]


def test_the_clinic_name_is_allowed_and_a_full_name_is_forbidden():
    text = "Maple Ketamine Clinic: Ana, your check-in is ready. Ana Lopez"
    assert phi.findings(text, allowed=["Maple Ketamine Clinic"]) == []
    assert phi.findings(text, allowed=["Maple Ketamine Clinic"], forbidden=["Ana Lopez"]) == ["ana lopez"]


def test_a_plain_reminder_passes():
    assert phi.findings("Riverside Clinic: Sam, a short check-in is ready: https://x.test/c/abc (until Friday)") == []

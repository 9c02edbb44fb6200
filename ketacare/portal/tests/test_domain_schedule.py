"""The self-report schedule re-anchors to the sessions (issue 11, acceptance 4): table tests over every shipped
protocol, and properties over random plans."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.portal.domain.schedule import (
    DEDUPE,
    PLANNED_TIME,
    ItemState,
    Kind,
    Rules,
    ScheduleRuleError,
    Session,
    due_items,
    item_state,
    rules_for,
    with_overrides,
)
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS
from ketacare.treatment.domain.schedule import generate_course

TZ = ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)
PROTOCOLS = sorted(DEFAULT_PROTOCOLS)


def plan(ref: str, cycles: int = 4) -> list[Session]:
    protocol = DEFAULT_PROTOCOLS[ref]
    return [Session(course_id=1, number=p.number, phase=p.phase, planned_on=p.planned_on)
            for p in generate_course(protocol.phases, START, open_ended_cycles=cycles)]


def items(ref: str, sessions: list[Session], rules: Rules | None = None) -> dict[str, object]:
    return {d.key: d for d in due_items([(1, rules or rules_for(ref), sessions)], TZ)}


def at(day: dt.date, hour: int = PLANNED_TIME.hour) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


def dose(sessions: list[Session], number: int, when: dt.datetime) -> list[Session]:
    return [Session(s.course_id, s.number, s.phase, s.planned_on, s.cancelled, when) if s.number == number else s
            for s in sessions]


def cancel(sessions: list[Session], number: int) -> list[Session]:
    return [Session(s.course_id, s.number, s.phase, s.planned_on, True, None) if s.number == number else s
            for s in sessions]


def move(sessions: list[Session], number: int, days: int) -> list[Session]:
    return [Session(s.course_id, s.number, s.phase, s.planned_on + dt.timedelta(days=days), s.cancelled, s.dosed_at)
            if s.number == number else s for s in sessions]


@pytest.mark.parametrize("ref", PROTOCOLS)
def test_a_planned_course_has_a_baseline_then_one_pre_dose_item_per_later_session_and_no_post_dose_items(ref):
    sessions = plan(ref)
    got = items(ref, sessions)
    assert got["baseline"].target_at == at(sessions[0].planned_on)
    assert got["baseline"].expires_at == at(sessions[0].planned_on)  # answered before the first dose
    assert got["baseline"].opens_at == at(sessions[0].planned_on) - dt.timedelta(days=7)
    pre = sorted(d.session_number for d in got.values() if d.kind is Kind.PRE_DOSE)
    assert pre == [s.number for s in sessions[1:]]
    assert not [d for d in got.values() if d.kind in (Kind.POST_2H, Kind.POST_24H)]


@pytest.mark.parametrize("ref", PROTOCOLS)
def test_recording_a_dose_anchors_the_two_and_twenty_four_hour_items_to_the_dose_time(ref):
    sessions = plan(ref)
    dosed_at = at(sessions[1].planned_on, 10) + dt.timedelta(minutes=17)
    got = items(ref, dose(sessions, 2, dosed_at))
    post = {d.kind: d for d in got.values() if d.session_number == 2 and d.kind in (Kind.POST_2H, Kind.POST_24H)}
    if ref.startswith("psychotherapy"):
        assert post == {}  # no drug, no rapid-relief window
        return
    assert post[Kind.POST_2H].target_at == dosed_at + dt.timedelta(hours=2)
    assert post[Kind.POST_24H].target_at == dosed_at + dt.timedelta(hours=24)
    assert post[Kind.POST_2H].key == "post_2h:1:2"
    # the pre-dose item of the dosed session follows the dose time, not the planned 09:00
    assert got["pre:1:2"].target_at == dosed_at


@pytest.mark.parametrize("ref", PROTOCOLS)
def test_moving_a_session_moves_its_items_and_keeps_their_keys(ref):
    sessions = plan(ref)
    before = items(ref, sessions)
    after = items(ref, move(sessions, 2, 1))
    assert after["pre:1:2"].target_at == before["pre:1:2"].target_at + dt.timedelta(days=1)
    assert after["pre:1:2"].opens_at == before["pre:1:2"].opens_at + dt.timedelta(days=1)
    assert after["pre:1:3"] == before["pre:1:3"]


@pytest.mark.parametrize("ref", PROTOCOLS)
def test_cancelling_a_session_drops_its_items(ref):
    sessions = plan(ref)
    got = items(ref, cancel(sessions, 3))
    assert "pre:1:3" not in got
    assert "pre:1:2" in got and "pre:1:4" in got


@pytest.mark.parametrize("ref", PROTOCOLS)
def test_cancelling_the_first_session_moves_the_baseline_to_the_next(ref):
    sessions = plan(ref)
    got = items(ref, cancel(sessions, 1))
    assert got["baseline"].target_at == at(sessions[1].planned_on)
    assert got["baseline"].session_number == 2
    assert "pre:1:2" not in got  # the baseline is its pre-dose measure


@pytest.mark.parametrize("ref", [r for r in PROTOCOLS if rules_for(r).follow_up_weeks])
def test_weekly_follow_up_starts_from_the_last_dose_of_the_series_and_re_anchors_when_it_is_cancelled(ref):
    sessions = plan(ref)
    series = [s for s in sessions if s.phase != "maintenance"]
    later = [s for s in sessions if s.phase == "maintenance"]
    got = items(ref, sessions)
    follow = sorted((d for d in got.values() if d.kind is Kind.FOLLOW_UP), key=lambda d: d.target_at)
    last = at(series[-1].planned_on)
    expected = [last + dt.timedelta(weeks=k) for k in range(1, rules_for(ref).follow_up_weeks + 1)]
    expected = [t for t in expected if all(abs(t - at(s.planned_on)) >= DEDUPE for s in later)]
    assert [d.target_at for d in follow] == expected
    # cancel the last session of the series: the clock starts at the one before
    got = items(ref, cancel(sessions, series[-1].number))
    first = min(d.target_at for d in got.values() if d.kind is Kind.FOLLOW_UP)
    assert first == at(series[-2].planned_on) + dt.timedelta(weeks=1)


def test_an_iv_series_gets_eight_weekly_follow_ups_after_the_sixth_infusion():
    sessions = plan("iv-ketamine-induction@1")
    follow = [d for d in items("iv-ketamine-induction@1", sessions).values() if d.kind is Kind.FOLLOW_UP]
    assert len(follow) == 8
    assert min(d.target_at for d in follow) == at(sessions[-1].planned_on) + dt.timedelta(weeks=1)


@pytest.mark.parametrize("every,expected", [(14, 1), (28, 4)])
def test_maintenance_check_ins_every_two_weeks_are_dropped_where_a_session_measures_the_same_days(every, expected):
    """IV maintenance every 14 days: each check-in falls on the next session (its pre-dose item measures it), so
    only the one after the last session stays; every 28 days: one between each pair and one after the last."""
    protocol = DEFAULT_PROTOCOLS["iv-ketamine-maintenance@1"]
    sessions = [Session(1, p.number, p.phase, p.planned_on)
                for p in generate_course(protocol.phases, START, open_ended_cycles=4, open_ended_cycle_days=every)]
    got = items("iv-ketamine-maintenance@1", sessions)
    check_ins = sorted(d.target_at for d in got.values() if d.kind is Kind.MAINTENANCE)
    assert len(check_ins) == expected
    assert check_ins[-1] == at(sessions[-1].planned_on) + dt.timedelta(days=14)


def test_esketamine_maintenance_continues_every_two_weeks_after_the_last_session():
    sessions = plan("esketamine-trd@1", cycles=3)
    got = items("esketamine-trd@1", sessions)
    check_ins = sorted(d.target_at for d in got.values() if d.kind is Kind.MAINTENANCE)
    assert check_ins == [at(sessions[-1].planned_on) + dt.timedelta(days=14)]


def test_a_patients_overrides_change_the_schedule_within_bounds():
    sessions = plan("iv-ketamine-induction@1")
    rules = with_overrides(rules_for("iv-ketamine-induction"), {"follow_up_weeks": 2, "kinds": ["baseline",
                                                                                              "follow_up"]})
    got = items("iv-ketamine-induction@1", sessions, rules)
    assert sorted(d.kind.value for d in got.values()) == ["baseline", "follow_up", "follow_up"]
    with_gad = with_overrides(Rules(), {"instruments": {"post_2h": ["phq-9", "gad-7"]}})
    assert with_gad.instruments[Kind.POST_2H] == ("phq-9", "gad-7")


@pytest.mark.parametrize("overrides,field", [
    ({"follow_up_weeks": 27}, "follow_up_weeks"), ({"follow_up_weeks": True}, "follow_up_weeks"),
    ({"maintenance_every_days": 3}, "maintenance_every_days"), ({"kinds": ["weekly"]}, "kinds"),
    ({"instruments": {"pre_dose": ["lsas-sr"]}}, "instruments"), ({"instruments": {"pre_dose": []}}, "instruments"),
    ({"colour": "blue"}, "colour")])
def test_an_override_out_of_bounds_is_refused_naming_the_field(overrides, field):
    with pytest.raises(ScheduleRuleError, match=field):
        with_overrides(Rules(), overrides)


def test_item_state_through_its_window():
    t0 = at(START)
    window = {"opens_at": t0, "due_at": t0 + dt.timedelta(hours=1), "expires_at": t0 + dt.timedelta(hours=2)}
    table = [(-1, ItemState.UPCOMING), (0, ItemState.OPEN), (60, ItemState.OPEN), (61, ItemState.OVERDUE),
             (120, ItemState.EXPIRED)]
    for minutes, state in table:
        assert item_state(**window, completed=False, cancelled=False, now=t0 + dt.timedelta(minutes=minutes)) is state
    assert item_state(**window, completed=True, cancelled=False, now=t0 + dt.timedelta(days=9)) is ItemState.COMPLETED
    assert item_state(**window, completed=False, cancelled=True, now=t0) is ItemState.CANCELLED


@settings(max_examples=80, deadline=None)
@given(ref=st.sampled_from(PROTOCOLS), cycles=st.integers(1, 6), data=st.data())
def test_any_plan_gives_ordered_windows_unique_keys_and_the_same_items_every_time(ref, cycles, data):
    sessions = plan(ref, cycles)
    for s in data.draw(st.lists(st.sampled_from(sessions), max_size=4)):
        action = data.draw(st.sampled_from(["cancel", "move", "dose"]))
        if action == "cancel":
            sessions = cancel(sessions, s.number)
        elif action == "move":
            sessions = move(sessions, s.number, data.draw(st.integers(-1, 1)))
        else:
            sessions = dose(sessions, s.number, at(s.planned_on, 11))
    first = due_items([(1, rules_for(ref), sessions)], TZ)
    assert first == due_items([(1, rules_for(ref), list(reversed(sessions)))], TZ)
    assert len({d.key for d in first}) == len(first)
    for d in first:
        assert d.opens_at <= d.due_at <= d.expires_at and d.opens_at < d.expires_at
        assert d.instruments
    live = {s.number for s in sessions if not s.cancelled}
    for d in first:
        if d.session_number is not None:
            assert d.session_number in live

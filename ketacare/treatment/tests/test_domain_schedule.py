"""Course plans from the protocol phases (label / Murrough schedules) and staff adjustments."""

import datetime as dt

import pytest

from ketacare.treatment.domain.protocols import (
    ESKETAMINE_MDSI,
    ESKETAMINE_TRD,
    IV_KETAMINE_INDUCTION,
    IV_KETAMINE_MAINTENANCE,
)
from ketacare.treatment.domain.schedule import Phase, ScheduleError, generate_course, reschedule

MONDAY = dt.date(2026, 1, 5)


def days(plan) -> list[int]:
    return [(s.planned_on - plan[0].planned_on).days for s in plan]


def test_esketamine_trd_twice_weekly_weeks_1_to_4_weekly_5_to_8_then_every_2_weeks():
    plan = generate_course(ESKETAMINE_TRD.phases, MONDAY, open_ended_cycles=2)
    assert days(plan) == [0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 56, 70]
    assert [s.phase for s in plan] == ["induction"] * 8 + ["weeks 5-8"] * 4 + ["maintenance"] * 2
    assert [s.number for s in plan] == list(range(1, 15))
    assert plan[0].planned_on == MONDAY


def test_trd_maintenance_may_be_weekly_but_not_every_3_weeks():
    weekly = generate_course(ESKETAMINE_TRD.phases, MONDAY, open_ended_cycles=3, open_ended_cycle_days=7)
    assert days(weekly)[-3:] == [56, 63, 70]
    with pytest.raises(ScheduleError):
        generate_course(ESKETAMINE_TRD.phases, MONDAY, open_ended_cycles=1, open_ended_cycle_days=21)


def test_trd_without_maintenance_is_the_8_week_course():
    assert len(generate_course(ESKETAMINE_TRD.phases, MONDAY)) == 12


def test_esketamine_mdsi_is_8_doses_twice_weekly_over_4_weeks():
    plan = generate_course(ESKETAMINE_MDSI.phases, MONDAY, open_ended_cycles=5)
    assert days(plan) == [0, 3, 7, 10, 14, 17, 21, 24]


def test_iv_induction_is_6_infusions_3_times_weekly_within_12_days():
    plan = generate_course(IV_KETAMINE_INDUCTION.phases, MONDAY)
    assert days(plan) == [0, 2, 4, 7, 9, 11]
    assert plan[-1].planned_on == dt.date(2026, 1, 16)  # 12th day of the series


def test_iv_maintenance_is_open_ended_and_planned_per_course():
    assert generate_course(IV_KETAMINE_MAINTENANCE.phases, MONDAY) == ()
    assert days(generate_course(IV_KETAMINE_MAINTENANCE.phases, MONDAY, open_ended_cycles=3)) == [0, 14, 28]


def test_moving_one_session_keeps_the_rest():
    plan = generate_course(ESKETAMINE_TRD.phases, MONDAY)
    moved = reschedule(plan, 2, dt.date(2026, 1, 9))
    assert moved[1].planned_on == dt.date(2026, 1, 9)
    assert [s.planned_on for s in moved if s.number != 2] == [s.planned_on for s in plan if s.number != 2]


def test_shifting_pushes_every_later_session():
    plan = generate_course(ESKETAMINE_TRD.phases, MONDAY)
    moved = reschedule(plan, 3, plan[2].planned_on + dt.timedelta(days=2), shift_following=True)
    assert days(moved) == [0, 3] + [d + 2 for d in days(plan)[2:]]


@pytest.mark.parametrize(("number", "new_on"), [
    (2, dt.date(2026, 1, 12)),  # same day as session 3
    (2, dt.date(2026, 1, 13)),  # after session 3
    (1, dt.date(2026, 1, 8)),  # same day as session 2
])
def test_reschedule_refuses_clashes_and_reordering(number, new_on):
    plan = generate_course(ESKETAMINE_TRD.phases, MONDAY)
    with pytest.raises(ScheduleError):
        reschedule(plan, number, new_on)


def test_reschedule_unknown_session():
    with pytest.raises(ScheduleError):
        reschedule(generate_course(IV_KETAMINE_INDUCTION.phases, MONDAY), 7, MONDAY)


@pytest.mark.parametrize("kwargs", [
    {"cycle_days": 7, "day_offsets": (), "cycles": 1},
    {"cycle_days": 7, "day_offsets": (3, 0), "cycles": 1},
    {"cycle_days": 7, "day_offsets": (7,), "cycles": 1},
    {"cycle_days": 7, "day_offsets": (0,), "cycles": 0},
])
def test_invalid_phases_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Phase("x", **kwargs)

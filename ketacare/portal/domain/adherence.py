"""Adherence to the home schedule: counts by state, the response rate, and runs of missed items.

Source: evidence.md §6 (the schedule's time points); the response rate is completed / (completed + expired) over
items whose window has closed, so items still open do not count against the patient. The missed-in-a-row flag's
N is clinic policy [U] (default 3, PortalSetting.missed_in_a_row).
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ketacare.portal.domain.schedule import ItemState


@dataclass(frozen=True)
class Adherence:
    upcoming: int
    open: int
    overdue: int
    completed: int
    expired: int

    @property
    def response_rate(self) -> float | None:
        """Completed over closed (completed + expired); None before any item closed."""
        closed = self.completed + self.expired
        return None if closed == 0 else self.completed / closed


def summarize(states: Iterable[ItemState]) -> Adherence:
    n = Counter(states)
    return Adherence(upcoming=n[ItemState.UPCOMING], open=n[ItemState.OPEN], overdue=n[ItemState.OVERDUE],
                     completed=n[ItemState.COMPLETED], expired=n[ItemState.EXPIRED])


def missed_run(closed_completed: Sequence[bool]) -> int:
    """How many of the most recent closed items, in order, were missed (False) without a completed one between."""
    run = 0
    for done in reversed(closed_completed):
        if done:
            break
        run += 1
    return run

"""When to try a failed message again: exponential backoff with a cap and a maximum number of attempts.

Pure Python (no Django). Not a clinical rule: delivery policy, so it cites no domain source.
"""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= dt.timedelta(0) or self.cap < self.base:
            raise ValueError("base must be positive and no larger than cap")

    def delay_after(self, attempt: int) -> dt.timedelta:
        """The wait after failed attempt number `attempt` (1-based): base, 2 x base, 4 x base, ... up to cap."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        return min(self.cap, self.base * (2 ** min(attempt - 1, 30)))

    def next_attempt_at(self, *, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after failed attempt `attempt`, or None when it was the last one."""
        if attempt >= self.max_attempts:
            return None
        return now + self.delay_after(attempt)

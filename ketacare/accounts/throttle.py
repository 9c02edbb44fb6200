"""Sign-in throttling, by username and by client IP (privacy.md §1, person or entity authentication).

* By username: after `LOGIN_MAX_FAILURES` failures for one (normalised) username within `LOGIN_LOCKOUT_MINUTES`,
  further tries for that username are refused, even with the right password. Every spelling of a name counts
  together ("nina", " nina", "NINA", "ｎｉｎａ": `usernames.normalize_username`).
* By client IP: after `LOGIN_MAX_FAILURES_PER_IP` failures from one address within the same window, every try from
  that address is refused, so that guessing one password against many usernames is bounded too.

Failures are stored under a keyed digest of the username (`usernames.username_key`), never its text.
"""

import datetime as dt
import enum

from django.conf import settings

from ketacare.accounts.models import LoginFailure
from ketacare.accounts.usernames import username_key
from ketacare.core import clock


class Lock(enum.StrEnum):
    USERNAME = "username"
    IP = "ip"


def _window_start() -> dt.datetime:
    return clock.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def login_locked(username: str, ip: str | None = None) -> Lock | None:
    """Which throttle refuses this try, if any."""
    recent = LoginFailure.objects.filter(at__gte=_window_start())
    if recent.filter(username_key=username_key(username)).count() >= settings.LOGIN_MAX_FAILURES:
        return Lock.USERNAME
    if ip and recent.filter(ip=ip).count() >= settings.LOGIN_MAX_FAILURES_PER_IP:
        return Lock.IP
    return None


def login_failure_record(username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username_key=username_key(username), ip=ip or None, at=clock.now())


def login_failures_clear(username: str) -> None:
    """After a successful sign-in: the username's count starts again (the address's count does not)."""
    LoginFailure.objects.filter(username_key=username_key(username)).delete()

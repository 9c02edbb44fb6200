"""Login throttling: after N failed attempts for a username within the lockout window, refuse further tries."""

import datetime as dt

from django.conf import settings

from ketacare.accounts.models import LoginFailure
from ketacare.core import clock


def _window_start() -> dt.datetime:
    return clock.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def login_locked(username: str) -> bool:
    recent = LoginFailure.objects.filter(username=username.lower(), at__gte=_window_start()).count()
    return recent >= settings.LOGIN_MAX_FAILURES


def login_failure_record(username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=username.lower(), ip=ip, at=clock.now())


def login_failures_clear(username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()

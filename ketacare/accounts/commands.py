"""Helpers for management commands that act as a named staff member."""

from django.core.management.base import CommandError

from ketacare.accounts.models import User
from ketacare.accounts.usernames import normalize_username


def command_user(name: str) -> User:
    """The active user of that name (spelt as sign-in spells it: case, width and edge spaces do not matter)."""
    user = User.objects.filter(username=normalize_username(name), is_active=True).select_related("clinic").first()
    if user is None:
        raise CommandError(f"no active user named {name!r}")
    return user

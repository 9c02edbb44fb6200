"""Rules of a patient's secure link: what a token must look like, the date-of-birth second factor, its attempt
limit and lockout.

Source: privacy.md §1 (HIPAA technical safeguards: person or entity authentication, automatic logoff; a link is a
bearer secret, so a second factor the patient knows and a limit on guessing it). The numbers are [U] clinic policy,
the same order as the staff sign-in throttle (5 failures, 15 minutes).
"""

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

# secrets.token_urlsafe(32) gives 43 URL-safe base64 characters; anything else was altered or made up.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_FAILURES = 5  # wrong dates of birth before the link locks
LOCKOUT = dt.timedelta(minutes=30)
REVOKE_AFTER = 15  # wrong dates in all: the link is revoked and the clinic sends a new one


class LinkState(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # tampered, guessed or unknown: nothing about any patient is said
    EXPIRED = "expired"
    REVOKED = "revoked"
    COMPLETED = "completed"  # answered already: a link is single-use once its questionnaires are sent
    LOCKED = "locked"  # too many wrong dates of birth, for LOCKOUT
    NOT_YET_OPEN = "not_yet_open"


def token_is_well_formed(token: str) -> bool:
    return bool(TOKEN_RE.match(token or ""))


def dob_matches(recorded: dt.date, given: dt.date) -> bool:
    return recorded == given


@dataclass(frozen=True)
class Lockout:
    locked_until: dt.datetime | None
    revoke: bool
    attempts_left: int


def lockout_after_failure(failures: int, now: dt.datetime) -> Lockout:
    """After the `failures`-th wrong date: every MAX_FAILURES-th locks the link for LOCKOUT; REVOKE_AFTER revokes
    it. `attempts_left` counts down to the next lock."""
    if failures >= REVOKE_AFTER:
        return Lockout(None, True, 0)
    if failures % MAX_FAILURES == 0:
        return Lockout(now + LOCKOUT, False, 0)
    return Lockout(None, False, MAX_FAILURES - failures % MAX_FAILURES)

"""One rule for what a username is, applied at every way in (sign-in form, the model backend, staff creation,
`ketacare clinic create`, `ketacare token create`), so that "nina", " nina", "\\tNINA" and "ｎｉｎａ" are one account
and one throttle count (privacy.md §1, person or entity authentication).

Pure Python: no Django imports but `salted_hmac` for the keyed digest of names that match no account.
"""

import re
import unicodedata

from django.utils.crypto import salted_hmac

USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,40}\Z")
USERNAME_RULE = "3–40 lowercase letters, digits, dots, hyphens or underscores."
_KEY_SALT = "ketacare.accounts.login-failure"


def _is_edge_junk(ch: str) -> bool:
    # Whitespace, control (Cc) and invisible format characters (Cf: zero-width space, BOM, bidi marks).
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def normalize_username(raw: str) -> str:
    """Unicode NFKC (fullwidth letters become ASCII), edge whitespace and invisible characters removed, case-folded.
    Idempotent: normalize_username(normalize_username(x)) == normalize_username(x)."""
    text = unicodedata.normalize("NFKC", raw or "")
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    text = unicodedata.normalize("NFKC", text[start:end].casefold())
    return text.strip()


def username_key(username: str) -> str:
    """A keyed digest (HMAC-SHA256 with SECRET_KEY) of the normalised name: what the throttle and the audit keep for
    a name that matches no account, never the text itself (someone may have typed their password into it)."""
    return salted_hmac(_KEY_SALT, normalize_username(username), algorithm="sha256").hexdigest()

"""Who must use a second factor, and what a recovery code looks like (privacy.md §1, person or entity authentication:
"strong authentication (MFA recommended)").

Clinic admins and prescribers always need it: an admin can give anyone any role, and a prescriber signs eligibility
decisions and dose orders. A clinic may require it of every member of staff (its MFA setting, a revision with a
reason). Pure Python: no Django.
"""

import secrets

ALWAYS_REQUIRED_ROLES = frozenset({"clinic_admin", "prescriber"})

# Ten codes of ten characters from an alphabet without look-alikes (0/O, 1/I/L): about 49 bits each, shown once.
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_LENGTH = 10
TOTP_DIGITS = 6
# The demo's seeded admin and prescriber share a published key (seed/demo.py); `ketacare mfa code` reads only these.
DEMO_DEVICE_NAME = "Demo authenticator (published key)"


def mfa_required(role: str, *, clinic_requires_all: bool) -> bool:
    """Whether a member of staff in `role` must have a second factor before reaching any page."""
    return role in ALWAYS_REQUIRED_ROLES or clinic_requires_all


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes, shown as two groups of five ("7K3QX-M9PTA")."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_code(typed: str) -> str:
    """What a person typed, as compared: spaces and hyphens dropped, upper case ("7k3qx m9pta" is "7K3QXM9PTA")."""
    return "".join(ch for ch in (typed or "").upper() if ch not in " -\t")


def looks_like_totp(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def looks_like_recovery_code(code: str) -> bool:
    return len(code) == RECOVERY_CODE_LENGTH and all(ch in RECOVERY_ALPHABET for ch in code)

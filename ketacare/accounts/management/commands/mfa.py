"""`ketacare mfa code --user NAME`: the current code of a demo login's published demo key (demo installs only);
`ketacare mfa reset --user NAME --by ADMIN`: a clinic admin removes a colleague's second factor (audited)."""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts import mfa
from ketacare.accounts.domain.mfa import DEMO_DEVICE_NAME
from ketacare.accounts.models import User
from ketacare.accounts.usernames import normalize_username
from ketacare.core.errors import DomainError


def _user(name: str) -> User:
    try:
        return User.objects.get(username=normalize_username(name))
    except User.DoesNotExist:
        raise CommandError(f"no user named {name!r}") from None


class Command(BaseCommand):
    help = "The second factor: a demo login's current code; an admin's reset of a colleague's."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        code = sub.add_parser("code", help="print the current code of a demo login (published demo key only)")
        code.add_argument("--user", required=True)
        reset = sub.add_parser("reset", help="remove a user's second factor and end their sessions (audited)")
        reset.add_argument("--user", required=True)
        reset.add_argument("--by", required=True, help="the clinic admin doing it (recorded in the audit trail)")

    def handle(self, *args, action, **options):
        user = _user(options["user"])
        if action == "code":
            if not (settings.DEBUG or settings.KETACARE_DEMO):
                raise CommandError("codes are printed on a demo install only (KETACARE_DEMO=True)")
            device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME, confirmed=True).first()
            if device is None:
                raise CommandError(f"{user.username} has no demo key (only the demo's seeded logins have one)")
            totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
            totp.time = time.time()
            # A code is accepted once: after a sign-in used this period's code, print the next period's (still
            # accepted, one period of tolerance).
            step = max(totp.t(), device.last_t + 1)
            totp.time = device.t0 + step * device.step
            self.stdout.write(f"{totp.token():0{device.digits}d}")
        else:
            try:
                mfa.mfa_reset(actor=_user(options["by"]), user=user)
            except (DomainError, ValidationError) as exc:
                raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
            self.stdout.write(f"{user.username}: second factor removed, sessions ended")

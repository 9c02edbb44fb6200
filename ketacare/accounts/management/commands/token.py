"""`ketacare token create --user NAME`: print a new API bearer token (only its hash is stored)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.models import TokenScope, User
from ketacare.accounts.services import token_create
from ketacare.accounts.usernames import normalize_username


class Command(BaseCommand):
    help = "Manage API bearer tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="username of the staff member the token acts as")
        create.add_argument("--name", default="cli", help="what the token is for")
        create.add_argument("--days", type=int, default=None,
                            help="lifetime in days (default KETACARE_TOKEN_DEFAULT_DAYS, 90; at most "
                                 "KETACARE_TOKEN_MAX_DAYS, 365)")
        create.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ_WRITE,
                            help="read: GET routes, searches and FHIR only; read_write (default): everything the "
                                 "user's role may do")

    def handle(self, *args, action, **options):
        if action == "create":
            try:
                user = User.objects.get(username=normalize_username(options["user"]), is_active=True)
            except User.DoesNotExist:
                raise CommandError(f"no active user named {options['user']!r}") from None
            try:
                token = token_create(user=user, name=options["name"], days=options["days"], scope=options["scope"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(token)

"""`ketacare token create --user NAME`: print a new API bearer token (only its hash is stored)."""

from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.models import User
from ketacare.accounts.services import token_create
from ketacare.accounts.usernames import normalize_username


class Command(BaseCommand):
    help = "Manage API bearer tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="username of the staff member the token acts as")
        create.add_argument("--name", default="cli", help="what the token is for")

    def handle(self, *args, action, **options):
        if action == "create":
            try:
                user = User.objects.get(username=normalize_username(options["user"]), is_active=True)
            except User.DoesNotExist:
                raise CommandError(f"no active user named {options['user']!r}") from None
            self.stdout.write(token_create(user=user, name=options["name"]))

"""`ketacare db roles`: print the SQL that sets up PostgreSQL's migration and application roles (docs/audit.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ketacare.core.db_roles import roles_sql


class Command(BaseCommand):
    help = "Database administration helpers."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        roles = sub.add_parser("roles", help="Print the SQL for the migration and application roles (PostgreSQL).")
        roles.add_argument("--app-role", default="ketacare_app")
        roles.add_argument("--migrator-role", default="ketacare_migrator")
        roles.add_argument("--database", default=None, help="database name (default: the one DATABASE_URL names)")
        roles.add_argument("--grants-only", action="store_true", help="only the part to re-run after migrate")

    def handle(self, *args, action, **options):
        try:
            self.stdout.write(roles_sql(app_role=options["app_role"], migrator_role=options["migrator_role"],
                                        database=options["database"] or str(connection.settings_dict["NAME"]),
                                        create_roles=not options["grants_only"]), ending="")
        except ValueError as exc:
            raise CommandError(str(exc)) from None

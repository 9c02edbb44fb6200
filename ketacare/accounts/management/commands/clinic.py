"""`ketacare clinic create --code C --name N --admin USER`: a new clinic and its first clinic admin."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.services import clinic_create


class Command(BaseCommand):
    help = "Create a clinic of the network and its first clinic admin (who adds the rest of the staff in the app)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a clinic and its first clinic admin; prints the password once.")
        create.add_argument("--code", required=True, help="short code used in MRNs, e.g. BOS")
        create.add_argument("--name", required=True, help="the clinic's name as patients know it")
        create.add_argument("--admin", required=True, help="username of the clinic's first clinic admin")
        create.add_argument("--email", default="", help="the admin's email address")
        create.add_argument("--time-zone", default="America/New_York", help="the clinic's time zone (IANA name)")

    def handle(self, *args, action, **options):
        try:
            clinic, admin, password = clinic_create(code=options["code"], name=options["name"],
                                                    admin_username=options["admin"], admin_email=options["email"],
                                                    time_zone=options["time_zone"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"clinic {clinic.code} ({clinic.name}) created; clinic admin {admin.username}, "
                          f"password (shown once): {password}")

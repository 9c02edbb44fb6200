"""`ketacare demo`: seed (or refresh) the demo clinic and print its logins. Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ketacare.seed.demo import DEMO_TOTP_SECRET, seed_demo

DEFAULT_PASSWORD = "ketacare-demo"


class Command(BaseCommand):
    help = "Seed the demo clinic with a user for every role and synthetic patients."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password for every demo user")
        parser.add_argument("--allow-production", action="store_true",
                            help="seed even when KETACARE_DEBUG is False (never on a real clinic's database)")

    def handle(self, *args, password, allow_production, **options):
        if not (settings.DEBUG or settings.KETACARE_DEMO) and not allow_production:
            raise CommandError("refusing to create demo logins on a production install (KETACARE_DEBUG and "
                               "KETACARE_DEMO are False); pass --allow-production only on a throwaway database")
        clinic, users = seed_demo(password=password)
        self.stdout.write(f"Demo clinic: {clinic.name}")
        self.stdout.write("Logins (username / password / role):")
        for user in users:
            self.stdout.write(f"  {user.username:<12} {password}   {user.get_role_display()}")
        secret = " ".join(DEMO_TOTP_SECRET[i:i + 4] for i in range(0, len(DEMO_TOTP_SECRET), 4))
        self.stdout.write("Second factor: admin and prescriber are asked for a 6-digit code after the password. Add "
                          f"the key {secret} to an authenticator app (time-based), or print the code now with "
                          "`.venv/bin/ketacare mfa code --user prescriber`. The other logins need only the password.")
        from ketacare.seed.portal import demo_patient_link

        url, patient = demo_patient_link(clinic)
        dob = patient.date_of_birth
        self.stdout.write(f"A patient's home questionnaire (no login; date of birth month {dob.month}, day {dob.day}, "
                          f"year {dob.year}):")
        self.stdout.write(f"  {url}")

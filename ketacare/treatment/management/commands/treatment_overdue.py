"""`ketacare treatment_overdue`: raise alerts for overdue vital signs in every clinic, once, now. The worker runs the
same check every minute (`treatment.vitals_overdue`); this command stays for a one-off run or a host without a
worker."""

from django.core.management.base import BaseCommand

from ketacare.treatment.services import vitals_overdue_check_all


class Command(BaseCommand):
    help = "Raise an alert for each scheduled vital-signs reading that is overdue (the worker does it every minute)."

    def handle(self, *args, **options):
        total = vitals_overdue_check_all()
        self.stdout.write(f"{total} overdue time point{'s' if total != 1 else ''} with an open or past alert")

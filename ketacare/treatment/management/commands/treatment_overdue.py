"""`ketacare treatment_overdue`: raise alerts for overdue vital signs in every clinic (run it every few minutes from
cron or a timer, so that missed readings alert even when no floor board is open)."""

from django.core.management.base import BaseCommand

from ketacare.core.models import Clinic
from ketacare.treatment.services import vitals_overdue_check_clinic


class Command(BaseCommand):
    help = "Raise an alert for each scheduled vital-signs reading that is overdue."

    def handle(self, *args, **options):
        total = sum(vitals_overdue_check_clinic(clinic_id=pk) for pk in Clinic.objects.values_list("pk", flat=True))
        self.stdout.write(f"{total} overdue time point{'s' if total != 1 else ''} with an open or past alert")

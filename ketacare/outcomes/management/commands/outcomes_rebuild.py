"""`ketacare outcomes_rebuild [--clinic ID]`: recompute the outcome summaries from the clinical records (after data
was loaded outside the services, or to check them)."""

from django.core.management.base import BaseCommand

from ketacare.core.models import Clinic
from ketacare.outcomes.services import mark_current, summaries_rebuild


class Command(BaseCommand):
    help = "Recompute the outcome summaries behind the clinic report."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", type=int, action="append", help="clinic id (default: every clinic)")

    def handle(self, *args, clinic=None, **options):
        ids = clinic or list(Clinic.objects.values_list("id", flat=True))
        for clinic_id in ids:
            written = summaries_rebuild(clinic_id=clinic_id)
            mark_current(clinic_ids=[clinic_id])
            self.stdout.write(f"clinic {clinic_id}: {written} patient summaries")

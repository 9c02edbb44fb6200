"""`ketacare synth --patients N [--clinics K] [--seed S]`: generate a synthetic network of clinics."""

from django.core.management.base import BaseCommand, CommandError

from ketacare.seed.synth import generate


class Command(BaseCommand):
    help = ("Generate synthetic clinics, staff, patients and whole treatment histories (bulk inserts; PostgreSQL "
            "COPY). Run it on a database no one else is writing to.")

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True, help="number of patients to generate")
        parser.add_argument("--clinics", type=int, default=None,
                            help="number of clinics (default: one per 20,000 patients, at least 1)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
        parser.add_argument("--batch", type=int, default=1000, help="patients per transaction")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument("--checked", action="store_true",
                            help="keep PostgreSQL's foreign-key checks on while loading (slower; default for fewer "
                                 "than 10,000 patients)")

    def handle(self, *args, patients, clinics, seed, batch, no_progress, checked, **options):
        if patients < 1:
            raise CommandError("--patients must be at least 1")
        clinics = clinics or max(1, patients // 20_000)
        if not 1 <= clinics <= patients:
            raise CommandError("--clinics must be between 1 and the number of patients")
        result = generate(patients=patients, clinics=clinics, seed=seed, batch=max(1, batch),
                          progress=not no_progress, stream=self.stderr,
                          fast_load=not checked and patients >= 10_000)
        self.stdout.write(f"{result['patients']} patients in {result['clinics']} clinic(s): {result['rows']:,} rows "
                          f"in {result['seconds']} s")

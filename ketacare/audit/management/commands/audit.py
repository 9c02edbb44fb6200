"""`ketacare audit verify [--head FILE]`: walk every audit chain and name the first broken link (exit 1);
`ketacare audit head`: print where each chain ends (clinic, last id, number, hash), to be kept on write-once storage."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ketacare.audit.chain import heads_from_json, heads_to_json, verify_cursor
from ketacare.core.models import Clinic


class Command(BaseCommand):
    help = "Check the audit trail's hash chains, or print their heads (docs/audit.md)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Check every chain; exit 1 naming the first broken link of each.")
        verify.add_argument("--head", type=Path, help="a head saved earlier by `audit head`: it must still be there")
        verify.add_argument("--database", default="default")
        head = sub.add_parser("head", help="Print each chain's last event (JSON), to copy to write-once storage.")
        head.add_argument("--database", default="default")

    def handle(self, *args, action, database, **options):
        saved = []
        if action == "verify" and options["head"] is not None:
            try:
                saved = heads_from_json(options["head"].read_text())
            except OSError as exc:
                raise CommandError(f"cannot read {options['head']}: {exc.strerror}") from None
            except ValueError as exc:
                raise CommandError(f"{options['head']}: {exc}") from None
        with connections[database].cursor() as cursor:
            breaks, heads = verify_cursor(cursor, saved)
        if action == "head":
            if breaks:
                raise CommandError("the audit chain is broken, no head printed: " + "; ".join(map(str, breaks)))
            codes = dict(Clinic.objects.using(database).values_list("pk", "code"))
            self.stdout.write(heads_to_json(heads, codes))
            return
        if breaks:  # the first broken link of each broken chain
            raise CommandError(f"audit chain broken in {len(breaks)} chain(s): " + "; ".join(map(str, breaks)))
        events = sum(h.seq for h in heads.values())
        checked = f", {len(saved)} saved head(s) found" if saved else ""
        self.stdout.write(f"audit chain intact: {len(heads)} chain(s), {events} event(s){checked}")

"""The de-identified REDCap export of a clinic (interop/domain/redcap.py): the data dictionary, the records and a
manifest, written as CSV. Research roles only; audited with the rule version, never with the salt."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import dataclass

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.instruments import selectors as instruments
from ketacare.interop.domain import redcap
from ketacare.treatment import selectors as treatment


@dataclass(frozen=True)
class RedcapExport:
    dictionary_csv: str
    records_csv: str
    manifest: dict


def forms() -> list[redcap.FormSpec]:
    specs = []
    for instrument in instruments.instruments_available(None):
        items = tuple(
            redcap.ItemSpec(item.link_id, item.text if (item.text and not instrument.licensed) else item.label,
                            tuple((o.code, o.display if not instrument.licensed else f"{o.weight}", int(o.weight))
                                  for o in item.options if o.weight is not None))
            for item in instrument.items if item.scored or item.range is not None)
        if items:
            specs.append(redcap.FormSpec(instrument.key, instrument.title, items))
    return specs


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def redcap_export(*, actor, salt: bytes | None = None) -> RedcapExport:
    """`salt` is drawn per export; tests pass their own to follow one patient through the export."""
    require(actor, Perm.RESEARCH_VIEW)
    salt = salt or secrets.token_bytes(32)
    specs = forms()
    answers = [redcap.Answer(pid, key, at, answers or {}, total)
               for pid, key, at, answers, total in instruments.current_responses_for_research(user=actor)]
    header, rows = redcap.records(specs, answers, treatment.first_doses_of_clinic(clinic_id=actor.clinic_id), salt)
    dictionary = _csv(list(redcap.COLUMNS), redcap.data_dictionary(specs))
    records_csv = _csv(header, rows)
    manifest = {
        "rules": redcap.RULES_VERSION, "created_at": clock.now().isoformat(timespec="seconds"),
        "records": len({r["record_id"] for r in rows}), "rows": len(rows),
        "files": {name: hashlib.sha256(text.encode()).hexdigest()
                  for name, text in (("data_dictionary.csv", dictionary), ("records.csv", records_csv))},
        "de_identification": "names, MRNs, contact and address details and free text dropped; record ids are keyed "
                             "hashes with a salt drawn for this export and not kept; each patient's dates moved "
                             "by one random number of days (1-364 back), so intervals hold. Dates shifted this way "
                             "are not Safe Harbor's year-only rule (privacy.md §2): use under an Expert "
                             "Determination or a Limited Data Set agreement.",
    }
    audit_record(actor=actor, action=AuditAction.RESEARCH_EXPORTED, clinic_id=actor.clinic_id,
                 data={"kind": "redcap", "rules": redcap.RULES_VERSION, "records": manifest["records"],
                       "rows": manifest["rows"], "sha256": manifest["files"]})
    return RedcapExport(dictionary, records_csv, manifest)


def write(export: RedcapExport, directory) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data_dictionary.csv").write_text(export.dictionary_csv, encoding="utf-8")
    (directory / "records.csv").write_text(export.records_csv, encoding="utf-8")
    (directory / "manifest.json").write_text(json.dumps(export.manifest, indent=2), encoding="utf-8")
    return ["data_dictionary.csv", "records.csv", "manifest.json"]

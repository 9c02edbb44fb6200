"""Shipped instrument definitions (one file per published version) and clinic-supplied licensed item text.

Source: docs/domain/instruments.md §13.1 (instruments are versioned resources; item text lives in licensed
content packs, PHQ-9/GAD-7 packs ship by default), copyright policy at the top of instruments.md (no LSAS, SPIN,
Mini-SPIN, C-SSRS or CADSS wording is shipped; the deploying clinic loads it under its own licence).

Definitions live in `ketacare/instruments/definitions/<key>@<version>.json`. A published version never changes:
a change is a new file with a higher version.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path

from ketacare.instruments.domain.fhir import load_definition
from ketacare.instruments.domain.model import AnswerOption, Instrument, InvalidDefinition, Item

DEFINITIONS_DIR = Path(__file__).resolve().parents[1] / "definitions"
_FILE_NAME = re.compile(r"^(?P<key>[a-z0-9][a-z0-9-]*)@(?P<version>\d+\.\d+\.\d+)\.json$")

ItemContent = str | Mapping[str, object]


def load_all_versions(directory: Path = DEFINITIONS_DIR) -> dict[str, dict[str, Instrument]]:
    """{key: {version: Instrument}} for every definition file, versions in ascending order."""
    result: dict[str, dict[str, Instrument]] = {}
    for instrument in _load_directory(directory):
        result.setdefault(instrument.key, {})[instrument.version] = instrument
    return result


def load_shipped(directory: Path = DEFINITIONS_DIR) -> dict[str, Instrument]:
    """{key: Instrument} with the latest version of each instrument."""
    return {key: list(versions.values())[-1] for key, versions in load_all_versions(directory).items()}


@cache
def _load_directory(directory: Path) -> tuple[Instrument, ...]:
    instruments = []
    for path in sorted(directory.glob("*.json")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise InvalidDefinition(f"{path.name}: definition files are named <key>@<major.minor.patch>.json")
        instrument = load_definition(json.loads(path.read_text(encoding="utf-8")))
        if (instrument.key, instrument.version) != (match["key"], match["version"]):
            raise InvalidDefinition(f"{path.name} contains {instrument.key}@{instrument.version}")
        instruments.append(instrument)
    return tuple(sorted(instruments, key=lambda i: (i.key, tuple(int(p) for p in i.version.split(".")))))


def apply_licensed_text(instrument: Instrument, content: Mapping[str, ItemContent]) -> Instrument:
    """The instrument with a clinic's licensed wording swapped in; scoring is untouched.

    `content` maps linkId to the item text, or to {"text": ..., "options": {code: display}}; an option entry may
    also be {"display": ..., "weight": ...}, where the weight must equal the shipped one. Refused (ValueError):
    unknown linkIds, unknown keys, option codes the item does not have, or a different weight.
    """
    by_id = {item.link_id: item for item in instrument.items}
    unknown = set(content) - set(by_id)
    if unknown:
        raise ValueError(f"{instrument.key}@{instrument.version} has no items {sorted(unknown)}")
    items = tuple(
        _with_content(item, content[item.link_id]) if item.link_id in content else item for item in instrument.items
    )
    return replace(instrument, items=items)


def _with_content(item: Item, content: ItemContent) -> Item:
    if isinstance(content, str):
        return replace(item, text=content)
    extra = set(content) - {"text", "options"}
    if extra:
        raise ValueError(f"item {item.link_id}: only text and option wording can be supplied, not {sorted(extra)}")
    text = content.get("text", item.text)
    if text is not None and not isinstance(text, str):
        raise ValueError(f"item {item.link_id}: text must be a string")
    displays = content.get("options", {})
    if not isinstance(displays, Mapping):
        raise ValueError(f"item {item.link_id}: options must map option code to wording")
    known = {option.code for option in item.options}
    if set(displays) - known:
        raise ValueError(f"item {item.link_id}: unknown option codes {sorted(set(displays) - known)}")
    return replace(item, text=text, options=tuple(_with_display(item, o, displays.get(o.code)) for o in item.options))


def _with_display(item: Item, option: AnswerOption, supplied: object) -> AnswerOption:
    if supplied is None:
        return option
    if isinstance(supplied, str):
        return replace(option, display=supplied)
    if (
        isinstance(supplied, Mapping)
        and set(supplied) <= {"display", "weight"}
        and isinstance(supplied.get("display"), str)
    ):
        if "weight" in supplied:
            weight = supplied["weight"]
            if isinstance(weight, bool) or not isinstance(weight, int | Decimal) or Decimal(weight) != option.weight:
                raise ValueError(f"item {item.link_id}: option {option.code} would change its weight")
        return replace(option, display=supplied["display"])
    raise ValueError(f"item {item.link_id}: option {option.code}: give its wording, or {{display, weight}}")

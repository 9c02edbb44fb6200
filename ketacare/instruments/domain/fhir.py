"""Instrument definitions as FHIR R4 Questionnaires: load KetaCare definitions, write them, import foreign ones.

Source: docs/domain/fhir-mapping.md §1 and §3 (Questionnaire items carry LOINC codes; answer weights in the
`ordinalValue` extension; totals are computed server-side; local CodeSystem for instruments without LOINC codes),
docs/domain/instruments.md §13.1 (instruments are versioned resources; item text of licensed scales is external
content), fixtures/external/PROVENANCE.md §1 (the public Questionnaire variants the importer must read).

KetaCare definition format (one file per version, `definitions/<key>@<version>.json`):
- A FHIR R4 Questionnaire: `id` = instrument key, `version`, `title`, `copyright` (licence note), `code` (panel).
- Answer weights: `answerOption[].extension` with `http://hl7.org/fhir/StructureDefinition/ordinalValue`
  (valueDecimal). Numeric items are `integer` items with the `minValue`/`maxValue` extensions.
- Skip logic: `enableWhen` with operator "=" and `answerCoding` (one condition per item).
- An optional top-level `display` item with linkId "stem" holds the question stem.
- Everything FHIR has no element for lives in ONE extension, url SCORING_EXTENSION_URL, whose `valueString` is a
  JSON object (FHIR has no JSON-valued extension type; a top-level sibling key would not be valid FHIR):
    {"schema": 1, "method": "sum" | "cssrs-screen", "higher_is_worse": true | false | null, "licensed": bool,
     "labels": {linkId: neutral label}, "scored_items": [linkId], "reverse_items": [linkId],
     "subscales": [{"key", "label", "items": [linkId], "source"}],
     "missing": {"rule": "incomplete", "source"},
     "bands": {"source", "table": [{"code", "label", "low", "high"}]},
     "response": {"kind", "value", "source"} | null, "remission": {...} | null,
     "safety_rules": [{"code", "kind", "severity", "source", "target"?, "threshold"?, "min_rise"?}],
     "total_code": {"system", "code"} | null, "source": "<domain file and section>"}
- A licensed definition carries no item text and no stem (instruments.md copyright policy): refused otherwise.

Imports (`import_fhir_questionnaire`) read any R4 Questionnaire whose options carry weights: `answerOption` (R4) or
`option` (STU3) with `ordinalValue`, `itemWeight` or `iso21090-CO-value` on the option or on its valueCoding, or a
contained ValueSet (`answerValueSet: "#id"`) whose concepts carry `ordinalValue`. Groups are flattened; display
items and calculated items (SDC calculatedExpression, cqf-expression) are dropped, because KetaCare computes the
total itself and never trusts a supplied one. Items with weighted options are scored by a plain sum; other
answerable items are recorded only.
"""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ketacare.instruments.domain import cssrs
from ketacare.instruments.domain.model import (
    RULE_KINDS_WITH_THRESHOLD,
    AnswerOption,
    Band,
    Criterion,
    CriterionKind,
    EnableWhen,
    Instrument,
    InvalidDefinition,
    Item,
    Method,
    MissingRule,
    NumericRange,
    RuleKind,
    SafetyRule,
    Severity,
    Subscale,
)

SCORING_EXTENSION_URL = "https://ketacare.org/fhir/StructureDefinition/scoring"
QUESTIONNAIRE_BASE_URL = "https://ketacare.org/fhir/Questionnaire/"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT_URL = "http://hl7.org/fhir/StructureDefinition/itemWeight"
CO_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"  # STU3-era LHC-Forms
WEIGHT_URLS = (ORDINAL_VALUE_URL, ITEM_WEIGHT_URL, CO_VALUE_URL)
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"
CALCULATED_URLS = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
    "http://hl7.org/fhir/StructureDefinition/cqf-expression",
)
STEM_LINK_ID = "stem"
SCHEMA_VERSION = 1
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_CHOICE_TYPES = ("choice", "open-choice", "coding")


def load_definition(resource: Mapping[str, Any]) -> Instrument:
    """A KetaCare definition (FHIR Questionnaire + scoring extension) as a validated Instrument."""
    _require_questionnaire(resource)
    block = _scoring_block(resource)
    key, version = resource.get("id"), resource.get("version")
    if not isinstance(key, str) or not key:
        raise InvalidDefinition("definition needs an id (the instrument key)")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise InvalidDefinition(f"{key}: version must look like 1.0.0, got {version!r}")
    where = f"{key}@{version}"
    try:
        instrument = _instrument_from_block(resource, block, key, version)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise InvalidDefinition(f"{where}: malformed scoring block ({exc!r})") from exc
    _validate(instrument, where, strict=True)
    return instrument


def dump_definition(instrument: Instrument) -> dict[str, Any]:
    """The KetaCare definition (FHIR Questionnaire JSON) of an instrument; load_definition reads it back."""
    block: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "method": instrument.method.value,
        "higher_is_worse": instrument.higher_is_worse,
        "licensed": instrument.licensed,
        "labels": {i.link_id: i.label for i in instrument.items},
        "scored_items": [i.link_id for i in instrument.items if i.scored],
        "reverse_items": [i.link_id for i in instrument.items if i.reverse],
        "subscales": [
            {"key": s.key, "label": s.label, "items": list(s.link_ids), "source": s.source}
            for s in instrument.subscales
        ],
        "missing": {"rule": instrument.missing_rule.kind, "source": instrument.missing_rule.source},
        "bands": {
            "source": instrument.bands_source,
            "table": [
                {"code": b.code, "label": b.label, "low": _json_number(b.low), "high": _json_number(b.high)}
                for b in instrument.bands
            ],
        },
        "response": _dump_criterion(instrument.response),
        "remission": _dump_criterion(instrument.remission),
        "safety_rules": [_dump_rule(rule) for rule in instrument.safety_rules],
        "total_code": (
            {"system": instrument.total_code_system, "code": instrument.total_code} if instrument.total_code else None
        ),
        "source": instrument.source,
    }
    items: list[dict[str, Any]] = []
    if instrument.stem is not None:
        items.append({"linkId": STEM_LINK_ID, "type": "display", "text": instrument.stem})
    items.extend(_dump_item(instrument, item) for item in instrument.items)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": instrument.key,
        "url": QUESTIONNAIRE_BASE_URL + instrument.key,
        "version": instrument.version,
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", instrument.key)),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "extension": [{"url": SCORING_EXTENSION_URL, "valueString": json.dumps(block, ensure_ascii=False)}],
    }
    if instrument.text_license:
        resource["copyright"] = instrument.text_license
    if instrument.code:
        resource["code"] = [_coding(instrument.code_system, instrument.code)]
    resource["item"] = items
    return resource


def import_fhir_questionnaire(
    resource: Mapping[str, Any],
    key: str | None = None,
    *,
    bands: Sequence[Band] = (),
    higher_is_worse: bool | None = None,
) -> Instrument:
    """Any R4 Questionnaire with weighted options as a plain-sum Instrument; `bands` if the caller has a table."""
    _require_questionnaire(resource)
    key = key or resource.get("id") or _slug(resource.get("name") or resource.get("title") or "")
    if not key:
        raise InvalidDefinition("the Questionnaire has no id, name or title: pass key=")
    try:
        items = _imported_items(resource)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise InvalidDefinition(f"{key}: malformed Questionnaire ({exc!r})") from exc
    if not any(i.scored for i in items):
        raise InvalidDefinition(f"{key}: no item has weighted options (ordinalValue/itemWeight); cannot score it")
    coding = _first_coding(resource)
    instrument = Instrument(
        key=key,
        version=resource.get("version") or "imported",
        title=resource.get("title") or resource.get("name") or key,
        method=Method.SUM,
        items=items,
        higher_is_worse=higher_is_worse,
        licensed=False,
        text_license=resource.get("copyright"),
        bands=tuple(bands),
        bands_source="supplied by the importer" if bands else "",
        missing_rule=MissingRule("incomplete", "instruments.md §13.4: a missing item is never 0"),
        code=coding.get("code"),
        code_system=coding.get("system"),
        source=f"imported FHIR Questionnaire {resource.get('url') or key}",
    )
    _validate(instrument, key, strict=False)
    return instrument


def _imported_items(resource: Mapping[str, Any]) -> tuple[Item, ...]:
    contained = {
        r["id"]: r
        for r in resource.get("contained", [])
        if isinstance(r, Mapping) and r.get("resourceType") == "ValueSet"
    }
    items = []
    for fhir_item in _leaf_items(resource.get("item", [])):
        if fhir_item.get("type") == "display" or _extension(fhir_item, *CALCULATED_URLS) is not None:
            continue
        text = fhir_item.get("text")
        item = _item(fhir_item, contained, label=text or fhir_item["linkId"], text=text)
        items.append(replace(item, scored=any(o.weight is not None for o in item.options)))
    # Skip logic we cannot evaluate is dropped: the item is then always asked, so leaving it unanswered makes the
    # score incomplete instead of silently "not asked".
    options_by_id = {i.link_id: {o.code for o in i.options} for i in items}
    return tuple(
        i
        if i.enable_when is None or i.enable_when.answer_code in options_by_id.get(i.enable_when.question, ())
        else replace(i, enable_when=None)
        for i in items
    )


# --- reading ------------------------------------------------------------------------------------------------


def _require_questionnaire(resource: Mapping[str, Any]) -> None:
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Questionnaire":
        raise InvalidDefinition("not a FHIR Questionnaire")


def _scoring_block(resource: Mapping[str, Any]) -> dict[str, Any]:
    extension = _extension(resource, SCORING_EXTENSION_URL)
    if extension is None:
        raise InvalidDefinition(f"no {SCORING_EXTENSION_URL} extension: use import_fhir_questionnaire instead")
    try:
        block = json.loads(extension["valueString"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidDefinition("the scoring extension's valueString is not JSON") from exc
    if not isinstance(block, dict) or block.get("schema") != SCHEMA_VERSION:
        raise InvalidDefinition(f"scoring block schema must be {SCHEMA_VERSION}")
    return block


def _instrument_from_block(resource: Mapping[str, Any], block: Mapping[str, Any], key: str, version: str) -> Instrument:
    labels = block["labels"]
    scored, reverse = set(block["scored_items"]), set(block["reverse_items"])
    stem = None
    items = []
    for fhir_item in _leaf_items(resource.get("item", [])):
        if fhir_item.get("type") == "display":
            if fhir_item.get("linkId") == STEM_LINK_ID:
                stem = fhir_item.get("text")
            continue
        link_id = fhir_item["linkId"]
        if link_id not in labels:
            raise InvalidDefinition(f"{key}@{version}: item {link_id!r} has no label")
        item = _item(fhir_item, {}, label=labels[link_id], text=fhir_item.get("text"))
        if fhir_item.get("enableWhen") and item.enable_when is None:
            raise InvalidDefinition(
                f"{key}@{version}: item {link_id!r}: only one enableWhen '=' answerCoding is supported"
            )
        items.append(replace(item, scored=link_id in scored, reverse=link_id in reverse))
    unknown = (scored | reverse | set(labels)) - {i.link_id for i in items}
    if unknown:
        raise InvalidDefinition(f"{key}@{version}: scoring block names unknown items {sorted(unknown)}")
    coding = _first_coding(resource)
    total_code = block.get("total_code") or {}
    return Instrument(
        key=key,
        version=version,
        title=resource["title"],
        method=Method(block["method"]),
        items=tuple(items),
        higher_is_worse=block["higher_is_worse"],
        licensed=bool(block["licensed"]),
        text_license=resource.get("copyright"),
        stem=stem,
        subscales=tuple(
            Subscale(s["key"], s["label"], tuple(s["items"]), s.get("source", "")) for s in block.get("subscales", [])
        ),
        bands=tuple(
            Band(b["code"], b["label"], _decimal_or_none(b.get("low")), _decimal_or_none(b.get("high")))
            for b in block["bands"]["table"]
        ),
        bands_source=block["bands"].get("source", ""),
        missing_rule=MissingRule(block["missing"]["rule"], block["missing"].get("source", "")),
        response=_criterion(block.get("response")),
        remission=_criterion(block.get("remission")),
        safety_rules=tuple(_rule(r) for r in block.get("safety_rules", [])),
        code=coding.get("code"),
        code_system=coding.get("system"),
        total_code=total_code.get("code"),
        total_code_system=total_code.get("system"),
        source=block.get("source", ""),
    )


def _item(fhir_item: Mapping[str, Any], contained: Mapping[str, Any], *, label: str, text: str | None) -> Item:
    link_id = fhir_item["linkId"]
    code = _first_coding(fhir_item)
    item_type = fhir_item.get("type")
    options: tuple[AnswerOption, ...] = ()
    numeric_range = None
    if item_type in _CHOICE_TYPES or "answerOption" in fhir_item or "option" in fhir_item:
        options = _options(fhir_item, contained)
    elif item_type == "integer":
        low, high = _extension(fhir_item, MIN_VALUE_URL), _extension(fhir_item, MAX_VALUE_URL)
        if low is not None and high is not None:
            numeric_range = NumericRange(int(low["valueInteger"]), int(high["valueInteger"]))
    return Item(
        link_id=link_id,
        label=label,
        text=text,
        code=code.get("code"),
        code_system=code.get("system"),
        options=options,
        range=numeric_range,
        enable_when=_enable_when(fhir_item),
    )


def _options(fhir_item: Mapping[str, Any], contained: Mapping[str, Any]) -> tuple[AnswerOption, ...]:
    raw = fhir_item.get("answerOption") or fhir_item.get("option")  # R4, or STU3 `option`
    if raw:
        return tuple(_option(o) for o in raw)
    value_set_ref = fhir_item.get("answerValueSet") or ""
    value_set = contained.get(value_set_ref[1:]) if value_set_ref.startswith("#") else None
    if value_set is None:
        return ()  # an external ValueSet (e.g. http://loinc.org/vs/LL358-3) carries no weights we can read
    options = []
    for include in value_set.get("compose", {}).get("include", []):
        for concept in include.get("concept", []):
            options.append(
                AnswerOption(
                    code=concept["code"],
                    display=concept.get("display", concept["code"]),
                    weight=_weight(concept),
                    system=include.get("system"),
                )
            )
    for concept in value_set.get("expansion", {}).get("contains", []):
        options.append(
            AnswerOption(
                concept["code"], concept.get("display", concept["code"]), _weight(concept), concept.get("system")
            )
        )
    return tuple(options)


def _option(raw: Mapping[str, Any]) -> AnswerOption:
    if "valueCoding" in raw:
        coding = raw["valueCoding"]
        weight = _weight(raw)
        return AnswerOption(
            code=coding["code"],
            display=coding.get("display", coding["code"]),
            weight=weight if weight is not None else _weight(coding),
            system=coding.get("system"),
        )
    for value_key in ("valueString", "valueInteger"):
        if value_key in raw:
            value = str(raw[value_key])
            return AnswerOption(code=value, display=value, weight=_weight(raw))
    raise InvalidDefinition(f"unsupported answer option {dict(raw)!r}")


def _weight(element: Mapping[str, Any]) -> Decimal | None:
    extension = _extension(element, *WEIGHT_URLS)
    if extension is None:
        return None
    for value_key in ("valueDecimal", "valueInteger"):
        if value_key in extension:
            return _decimal(extension[value_key])
    raise InvalidDefinition(f"weight extension without a number: {extension!r}")


def _enable_when(fhir_item: Mapping[str, Any]) -> EnableWhen | None:
    """Only one condition with operator "=" on a coded answer is understood; anything else returns None."""
    conditions = fhir_item.get("enableWhen") or []
    if len(conditions) != 1:
        return None
    condition = conditions[0]
    if condition.get("operator") != "=" or "answerCoding" not in condition:
        return None
    return EnableWhen(condition["question"], condition["answerCoding"]["code"])


def _leaf_items(items: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for fhir_item in items:
        if fhir_item.get("type") != "group":
            yield fhir_item
        yield from _leaf_items(fhir_item.get("item", []))


def _extension(element: Mapping[str, Any], *urls: str) -> Mapping[str, Any] | None:
    for extension in element.get("extension", []) or []:
        if extension.get("url") in urls:
            return extension
    return None


def _first_coding(element: Mapping[str, Any]) -> Mapping[str, Any]:
    codes = element.get("code") or []
    return codes[0] if codes else {}


def _criterion(raw: Mapping[str, Any] | None) -> Criterion | None:
    if raw is None:
        return None
    return Criterion(CriterionKind(raw["kind"]), _decimal(raw["value"]), raw["source"])


def _rule(raw: Mapping[str, Any]) -> SafetyRule:
    return SafetyRule(
        code=raw["code"],
        kind=RuleKind(raw["kind"]),
        severity=Severity(raw["severity"]),
        source=raw["source"],
        target=raw.get("target"),
        threshold=_decimal_or_none(raw.get("threshold")),
        min_rise=_decimal_or_none(raw.get("min_rise")),
    )


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidDefinition(f"not a number: {value!r}")
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _decimal_or_none(value: object) -> Decimal | None:
    return None if value is None else _decimal(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- writing ------------------------------------------------------------------------------------------------


def _dump_item(instrument: Instrument, item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id}
    if item.code:
        out["code"] = [_coding(item.code_system, item.code)]
    if item.text is not None:
        out["text"] = item.text
    if item.range is not None:
        out["type"] = "integer"
        out["extension"] = [
            {"url": MIN_VALUE_URL, "valueInteger": item.range.low},
            {"url": MAX_VALUE_URL, "valueInteger": item.range.high},
        ]
    elif item.options:
        out["type"] = "choice"
    else:
        out["type"] = "string"
    if item.enable_when is not None:
        gate = instrument.item(item.enable_when.question)
        gate_option = next(o for o in gate.options if o.code == item.enable_when.answer_code)
        out["enableWhen"] = [
            {
                "question": item.enable_when.question,
                "operator": "=",
                "answerCoding": _coding(gate_option.system, gate_option.code),
            }
        ]
    if item.options:
        out["answerOption"] = [_dump_option(o) for o in item.options]
    return out


def _dump_option(option: AnswerOption) -> dict[str, Any]:
    out: dict[str, Any] = {"valueCoding": {**_coding(option.system, option.code), "display": option.display}}
    if option.weight is not None:
        out["extension"] = [{"url": ORDINAL_VALUE_URL, "valueDecimal": _json_number(option.weight)}]
    return out


def _dump_criterion(criterion: Criterion | None) -> dict[str, Any] | None:
    if criterion is None:
        return None
    return {"kind": criterion.kind.value, "value": _json_number(criterion.value), "source": criterion.source}


def _dump_rule(rule: SafetyRule) -> dict[str, Any]:
    out: dict[str, Any] = {"code": rule.code, "kind": rule.kind.value, "severity": rule.severity.value}
    if rule.target is not None:
        out["target"] = rule.target
    if rule.threshold is not None:
        out["threshold"] = _json_number(rule.threshold)
    if rule.min_rise is not None:
        out["min_rise"] = _json_number(rule.min_rise)
    out["source"] = rule.source
    return out


def _coding(system: str | None, code: str) -> dict[str, str]:
    return {"system": system, "code": code} if system else {"code": code}


def _json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# --- validation ---------------------------------------------------------------------------------------------


def _validate(instrument: Instrument, where: str, *, strict: bool) -> None:
    """strict (KetaCare definitions): every option of a scored choice item must carry a weight. Imports may have
    unweighted options (e.g. "prefer not to say"); choosing one leaves the item unscored, so the score is
    incomplete rather than counting it as 0."""
    problems: list[str] = []
    link_ids = [i.link_id for i in instrument.items]
    by_id = {i.link_id: i for i in instrument.items}
    if len(set(link_ids)) != len(link_ids):
        problems.append("duplicate linkIds")
    for item in instrument.items:
        codes = [o.code for o in item.options]
        if len(set(codes)) != len(codes):
            problems.append(f"item {item.link_id}: duplicate option codes")
        if item.scored and item.weight_range is None:
            problems.append(f"item {item.link_id}: scored but has no weights or range")
        if strict and item.scored and any(o.weight is None for o in item.options):
            problems.append(f"item {item.link_id}: scored item with an unweighted option")
        if item.reverse and not item.scored:
            problems.append(f"item {item.link_id}: reverse-scored but not scored")
        if item.enable_when is not None:
            gate = by_id.get(item.enable_when.question)
            if gate is None or item.enable_when.answer_code not in {o.code for o in gate.options}:
                problems.append(f"item {item.link_id}: enableWhen names an unknown question or answer")
        if instrument.licensed and item.text is not None:
            problems.append(
                f"item {item.link_id}: licensed instrument ships item text (load it with apply_licensed_text)"
            )
    if instrument.licensed and instrument.stem is not None:
        problems.append("licensed instrument ships a stem")
    if not instrument.scored_items:
        problems.append("no scored items")
    if instrument.missing_rule.kind != "incomplete":
        problems.append(f"missing-item rule {instrument.missing_rule.kind!r} is not implemented")
    for sub in instrument.subscales:
        if not sub.link_ids or any(link not in by_id or not by_id[link].scored for link in sub.link_ids):
            problems.append(f"subscale {sub.key}: items must be scored items of this instrument")
    problems += _band_problems(instrument)
    problems += _rule_problems(instrument, by_id)
    for name, criterion in (("response", instrument.response), ("remission", instrument.remission)):
        reduction = criterion is not None and criterion.kind in (
            CriterionKind.REDUCTION_PCT_AT_LEAST,
            CriterionKind.REDUCTION_PCT_ABOVE,
        )
        if reduction and instrument.higher_is_worse is not True:
            problems.append(f"{name}: a percentage reduction needs a worse-is-higher scale")
    if instrument.method is Method.CSSRS_SCREEN:
        if tuple(link_ids) != cssrs.LINK_IDS or any(
            sorted(o.weight for o in i.options if o.weight is not None) != [0, 1] or len(i.options) != 2
            for i in instrument.items
        ):
            problems.append(f"cssrs-screen needs items {cssrs.LINK_IDS} in that order, each no=0/yes=1")
    if problems:
        raise InvalidDefinition(f"{where}: " + "; ".join(problems))


def _band_problems(instrument: Instrument) -> list[str]:
    bands = instrument.bands
    if len({b.code for b in bands}) != len(bands):
        return ["duplicate band codes"]
    if instrument.method is Method.CSSRS_SCREEN:
        if [b.code for b in bands] != [r.value for r in cssrs.Risk]:
            return [f"cssrs-screen bands must be {[r.value for r in cssrs.Risk]}"]
        return []
    if not bands:
        return []
    if any(b.low is None or b.high is None or b.low > b.high for b in bands):
        return ["every band needs low <= high"]
    low, high = instrument.total_range  # type: ignore[misc]  # SUM instruments always have a range
    ordered = sorted(bands, key=lambda b: b.low)  # type: ignore[arg-type, return-value]
    if ordered[0].low != low or ordered[-1].high != high:
        return [f"bands must cover the total range {low}-{high}"]
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.low != before.high + 1:  # type: ignore[operator]
            return [f"bands {before.code} and {after.code} overlap or leave a gap"]
    return []


def _rule_problems(instrument: Instrument, by_id: Mapping[str, Item]) -> list[str]:
    problems = []
    codes = [r.code for r in instrument.safety_rules]
    if len(set(codes)) != len(codes):
        problems.append("duplicate safety rule codes")
    for rule in instrument.safety_rules:
        if not rule.source:
            problems.append(f"rule {rule.code}: no source")
        if (rule.threshold is None) == (rule.kind in RULE_KINDS_WITH_THRESHOLD):
            problems.append(f"rule {rule.code}: threshold is required exactly for threshold kinds")
        if rule.kind in (RuleKind.ITEM_AT_LEAST, RuleKind.ITEM_AT_MOST, RuleKind.ITEM_UNANSWERED) and (
            (target := by_id.get(rule.target or "")) is None or not target.scored
        ):
            problems.append(f"rule {rule.code}: target must be a scored item")
        if rule.kind is RuleKind.BAND_IS and rule.target not in {b.code for b in instrument.bands}:
            problems.append(f"rule {rule.code}: unknown band {rule.target!r}")
        if rule.min_rise is not None and rule.kind is not RuleKind.TOTAL_ABOVE:
            problems.append(f"rule {rule.code}: min_rise only applies to total_above")
        if rule.kind in (RuleKind.TOTAL_ABOVE, RuleKind.TOTAL_RISE_AT_LEAST) and instrument.method is not Method.SUM:
            problems.append(f"rule {rule.code}: total rules need a summed instrument")
    return problems

"""FHIR search parameters (the subset KetaCare serves): `date` and `_lastUpdated` with prefixes, `code` and
`category` tokens, `_count`, `_offset`. Pure: parses text and filters JSON-ready resources.

A date parameter names a range, as the FHIR search rules define: `2026-03` is the whole month, `ge2026-03-05` from
the start of that day, `lt2026-03-05T10:00:00Z` before that instant. A value without a time zone is read in the
clinic's time zone (passed in).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")
DEFAULT_COUNT = 50
MAX_COUNT = 500
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
                   r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


class SearchError(ValueError):
    """A parameter KetaCare cannot apply: the server answers 400 with an OperationOutcome naming it."""


@dataclass(frozen=True)
class DateFilter:
    prefix: str
    start: dt.datetime  # the parameter's range [start, end)
    end: dt.datetime

    def accepts(self, value: dt.datetime) -> bool:
        match self.prefix:
            case "eq":
                return self.start <= value < self.end
            case "gt":
                return value >= self.end
            case "ge":
                return value >= self.start
            case "lt":
                return value < self.start
            case "le":
                return value < self.end
        raise SearchError(f"unsupported prefix {self.prefix}")


def parse_date(name: str, text: str, tz: dt.tzinfo) -> DateFilter:
    prefix = text[:2] if text[:2] in PREFIXES else "eq"
    value = text[2:] if text[:2] in PREFIXES else text
    if prefix not in SUPPORTED_PREFIXES:
        raise SearchError(f"{name}: the prefix {prefix!r} is not supported "
                          f"(use one of {', '.join(SUPPORTED_PREFIXES)})")
    match = _DATE.match(value)
    if not match:
        raise SearchError(f"{name}: {value!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)")
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is not None:
            zone_info = tz if zone is None else (dt.UTC if zone == "Z" else dt.datetime.strptime(zone, "%z").tzinfo)
            start = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                                tzinfo=zone_info)
            end = start + (dt.timedelta(seconds=1) if second is not None else dt.timedelta(minutes=1))
        elif day is not None:
            start = dt.datetime(int(year), int(month), int(day), tzinfo=tz)
            end = start + dt.timedelta(days=1)
        elif month is not None:
            start = dt.datetime(int(year), int(month), 1, tzinfo=tz)
            end = dt.datetime(int(year) + (int(month) == 12), int(month) % 12 + 1, 1, tzinfo=tz)
        else:
            start = dt.datetime(int(year), 1, 1, tzinfo=tz)
            end = dt.datetime(int(year) + 1, 1, 1, tzinfo=tz)
    except (ValueError, OverflowError) as exc:
        raise SearchError(f"{name}: {value!r} is not a valid date ({exc})") from None
    return DateFilter(prefix, start, end)


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system
    code: str

    def matches(self, codings: Iterable[Mapping[str, Any]]) -> bool:
        return any(c.get("code") == self.code and (self.system is None or c.get("system") == self.system)
                   for c in codings)


def parse_tokens(name: str, text: str) -> list[Token]:
    """`code=a,b` is either; `system|code` names the system; `|code` means no system (not served: refused)."""
    tokens = []
    for part in text.split(","):
        system, bar, code = part.rpartition("|")
        if not code:
            raise SearchError(f"{name}: {part!r} has no code")
        if bar and not system:
            raise SearchError(f"{name}: a code without a system ({part!r}) is not supported")
        tokens.append(Token(system or None, code))
    return tokens


def parse_count(text: str | None) -> int:
    if text is None:
        return DEFAULT_COUNT
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise SearchError(f"_count must be a whole number from 1 to {MAX_COUNT}")
    return int(text)


def parse_offset(text: str | None) -> int:
    if text is None:
        return 0
    if not text.isdigit() or len(text) > 9:
        raise SearchError("_offset must be a whole number")
    return int(text)


def parse_instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# Where each resource type keeps the time `date` searches, and its codes.
def clinical_time(resource: Mapping[str, Any]) -> str | None:
    match resource["resourceType"]:
        case "Observation" | "MedicationAdministration":
            return resource.get("effectiveDateTime")
        case "QuestionnaireResponse":
            return resource.get("authored")
        case "Encounter" | "Flag":
            return resource.get("period", {}).get("start")
    return None


def codings(resource: Mapping[str, Any], element: str) -> list[Mapping[str, Any]]:
    value = resource.get(element)
    concepts = value if isinstance(value, list) else [value] if value else []
    return [coding for concept in concepts for coding in concept.get("coding", [])]


def date_filter(name: str, filters: list[DateFilter],
                time_of: Callable[[Mapping[str, Any]], str | None]) -> Callable[[Mapping[str, Any]], bool]:
    def keep(resource: Mapping[str, Any]) -> bool:
        text = time_of(resource)
        if text is None:
            return False
        at = parse_instant(text)
        return all(f.accepts(at) for f in filters)
    return keep

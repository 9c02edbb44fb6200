"""What every API body goes through before a route sees it (docs/input.md): one JSON parser and one schema base.

`JsonBodyParser` reads the body once: a body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` is a JSON 413, malformed
JSON, nesting deeper than `MAX_DEPTH`, numbers with more than `MAX_NUMBER_DIGITS` digits, NaN or Infinity are a 400
with a plain sentence (never Python's own words), and every string anywhere in the body (keys too) is held to the text
rule (`core/text.py`) and normalised to NFC; a refusal is a 422 whose `loc` names the field.

`Schema` (the base of every input schema) refuses `true`/`false` where a number is expected (pydantic would read it
as 1/0) and holds every date and time to the plausible window (`core/plausible.py`); the services then check the
patient's own window (not before their birth).
"""

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import ninja
from django.conf import settings
from django.utils import timezone
from ninja.errors import HttpError
from ninja.parser import Parser
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from ketacare.core import clock, plausible
from ketacare.core.text import clean_text, text_problem

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 30


class BodyRefused(HttpError):
    """A request body refused before any route sees it, with the JSON the client gets."""

    def __init__(self, status_code: int, payload: dict[str, Any]) -> None:
        super().__init__(status_code, str(payload.get("detail", "")))
        self.payload = payload


def refusal(loc: list, msg: str, kind: str) -> BodyRefused:
    return BodyRefused(422, {"detail": [{"loc": ["body", *loc], "msg": msg, "type": kind}]})


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BodyRefused(400, {"detail": f"A number in the body has more than {MAX_NUMBER_DIGITS} digits."})
    return int(text)


def _parse_float(text: str) -> float | Decimal:
    if sum(ch.isdigit() for ch in text) > MAX_NUMBER_DIGITS:
        raise BodyRefused(400, {"detail": f"A number in the body has more than {MAX_NUMBER_DIGITS} digits."})
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BodyRefused(400, {"detail": "A number in the body is too large."})
    return value


def _parse_constant(text: str) -> Any:
    raise BodyRefused(400, {"detail": f"{text} is not a JSON number."})


def clean_tree(value: Any, path: list, depth: int = 0) -> Any:
    """The parsed body with every string checked against the text rule and NFC-normalised; refusals name the path."""
    if depth > MAX_DEPTH:
        raise BodyRefused(400, {"detail": f"The JSON body is nested more than {MAX_DEPTH} levels deep."})
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise refusal(path, problem, "text")
        return clean_text(value)
    if isinstance(value, list):
        return [clean_tree(item, [*path, i], depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            problem = text_problem(key, multiline=False)
            if problem:
                raise refusal([*path, key[:40]], f"Field name: {problem}", "text")
            cleaned[clean_text(key)] = clean_tree(item, [*path, key], depth + 1)
        return cleaned
    return value


class JsonBodyParser(Parser):
    def parse_body(self, request):
        try:
            text = request.body.decode("utf-8")  # JSON on the wire is UTF-8 (RFC 8259 §8.1); json.loads would guess
        except UnicodeDecodeError:
            raise BodyRefused(400, {"detail": "The body is not UTF-8 text."}) from None
        if text.startswith("\ufeff"):
            raise BodyRefused(400, {"detail": "The body starts with a byte-order mark; send UTF-8 without one."})
        try:
            data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
        except BodyRefused:
            raise
        except RecursionError:
            raise BodyRefused(400, {"detail": f"The JSON body is nested more than {MAX_DEPTH} levels deep."}) from None
        except ValueError as exc:  # json.JSONDecodeError included
            where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise BodyRefused(400, {"detail": f"The body is not valid JSON{where}."}) from None
        if not isinstance(data, dict):
            raise BodyRefused(400, {"detail": "The body must be a JSON object ({...})."})
        return clean_tree(data, [])

    def parse_querydict(self, data, list_fields, request):
        parsed = super().parse_querydict(data, list_fields, request)
        for key, value in parsed.items():
            for item in value if isinstance(value, list) else [value]:
                problem = text_problem(item, multiline=False) if isinstance(item, str) else None
                if problem:
                    raise refusal([key], problem, "text")
        return parsed


def body_too_big_payload() -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return {"code": "body_too_large", "detail": f"The request body is larger than {limit:,} bytes."}


def _annotation_types(annotation: Any) -> set[type]:
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        return {t for arg in get_args(annotation) for t in _annotation_types(arg)}
    return {annotation} if isinstance(annotation, type) else set()


class Schema(ninja.Schema):
    """The base of every API input schema: no booleans for numbers, every date and time in the plausible window."""

    @field_validator("*", mode="before")
    @classmethod
    def _plain_types(cls, value: Any, info: Any) -> Any:
        if not info.field_name:
            return value
        types = _annotation_types(cls.model_fields[info.field_name].annotation)
        numeric = bool(types & {int, float, Decimal}) and bool not in types
        if numeric and isinstance(value, bool):
            raise PydanticCustomError("number_type", "Give a number, not true or false.")
        if numeric and isinstance(value, str) and len(value) > MAX_NUMBER_DIGITS:
            raise PydanticCustomError("number_type", f"Give a number of at most {MAX_NUMBER_DIGITS} digits.")
        if types & {dt.date, dt.datetime} and isinstance(value, int | float):
            # pydantic would read 1234567890 as seconds (or milliseconds) since 1970: a guess, not a date.
            raise PydanticCustomError("date_type", "Give the date as text, e.g. 2026-03-02 or 2026-03-02T14:00:00Z.")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _plausible_when(cls, value: Any, info: Any) -> Any:
        try:
            if isinstance(value, dt.datetime):
                aware = timezone.make_aware(value) if timezone.is_naive(value) else value
                plausible.check_any_moment(aware, now=clock.now())
            elif isinstance(value, dt.date) and info.field_name == "date_of_birth":
                plausible.check_event_date(value, today=clock.today())
            elif isinstance(value, dt.date):
                plausible.check_any_date(value, today=clock.today())
        except OverflowError:
            raise PydanticCustomError("implausible_date", "This time is outside the calendar.") from None
        except plausible.Implausible as exc:
            raise PydanticCustomError("implausible_date", str(exc)) from None
        return value

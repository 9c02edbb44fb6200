"""The one rule for text typed or sent into KetaCare (every form field and every string in an API body).

A value is refused, never silently altered, when it holds a character that no clinical record needs and that is
used to hide or disguise text (privacy.md §1, integrity):

- control characters (Unicode category Cc: NUL, DEL, escape, C1 controls), except tab, line feed and carriage return
  in multi-line notes (single-line fields refuse line breaks too);
- invisible format characters (Cf: zero-width space and joiners, BOM, soft hyphen, the bidirectional overrides and
  isolates such as U+202E RIGHT-TO-LEFT OVERRIDE);
- line and paragraph separators (U+2028, U+2029), surrogates and private-use or unassigned code points.

Accepted text is normalised to Unicode NFC (a composed "é" and "e" + combining accent are stored alike). Every field
also has a length bound: its own where it declares one, else `MAX_TEXT_LENGTH` (`MAX_LINE_LENGTH` for one line).
Pure Python: the forms (`core/middleware.py::TextInputMiddleware`), the API (`config/api.py`) and the validators
(`patients/validators.py::validate_no_markup`) all call `text_problem`.
"""

import unicodedata

MAX_TEXT_LENGTH = 10_000  # a long clinical note is a few thousand characters; 1 MB of "notes" is not a note
MAX_LINE_LENGTH = 500  # any one-line field (names, addresses, reasons) that declares no bound of its own
_MULTILINE_ALLOWED = frozenset("\t\n\r")
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                       "Zl": "a line separator", "Zp": "a paragraph separator", "Cs": "a surrogate",
                       "Co": "a private-use character", "Cn": "an unassigned character"}


def describe(ch: str) -> str:
    """U+202E RIGHT-TO-LEFT OVERRIDE: how a refused character is named in a message."""
    name = unicodedata.name(ch, "")
    if not name and ch == "\x7f":
        name = "DELETE"
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def text_problem(value: str, *, multiline: bool = True, max_length: int | None = None) -> str | None:
    """What is wrong with `value` under the rule (a sentence for the person who typed it), or None when it is fine."""
    limit = max_length if max_length is not None else (MAX_TEXT_LENGTH if multiline else MAX_LINE_LENGTH)
    if len(value) > limit:
        return f"At most {limit:,} characters (this has {len(value):,})."
    for ch in value:
        if ch in _MULTILINE_ALLOWED:
            if multiline or ch == "\t":
                continue
            return "Line breaks are not allowed here."
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            return f"Remove {kind} ({describe(ch)}); it is not allowed in text."
    return None


def clean_text(value: str) -> str:
    """The stored form of text that passed `text_problem`: Unicode NFC."""
    return unicodedata.normalize("NFC", value)


AUDIT_TEXT_LIMIT = 200  # characters of one value an audit row keeps verbatim


def digest_large_values(value):
    """`value` (an audit row's data) with every string longer than AUDIT_TEXT_LIMIT replaced by its SHA-256 and
    length: an audit row proves what was written without holding a second (and third) copy of a long note."""
    import hashlib

    if isinstance(value, str) and len(value) > AUDIT_TEXT_LIMIT:
        return {"sha256": hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest(), "chars": len(value)}
    if isinstance(value, dict):
        return {key: digest_large_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [digest_large_values(item) for item in value]
    return value

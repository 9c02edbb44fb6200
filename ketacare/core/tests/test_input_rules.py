"""The one text rule (core/text.py) and the one plausible-date window (core/plausible.py), property-tested."""

import datetime as dt
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ketacare.core import plausible
from ketacare.core.text import MAX_LINE_LENGTH, MAX_TEXT_LENGTH, clean_text, digest_large_values, text_problem

REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
BORN = dt.date(1984, 3, 9)


def _refused_char(ch: str) -> bool:
    return unicodedata.category(ch) in REFUSED_CATEGORIES and ch not in "\t\n\r"


@given(st.text(max_size=60))
def test_text_is_refused_exactly_when_it_holds_a_refused_character(text):
    problem = text_problem(text)
    assert (problem is not None) == any(_refused_char(ch) for ch in text)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")), max_size=60),
       st.sampled_from(["\x00", "\x7f", "\u202e", "\u200b", "\ufeff", "\u2028", "\u00ad", "\x85"]),
       st.integers(min_value=0, max_value=60))
def test_one_hidden_character_anywhere_is_refused_and_named(text, bad, where):
    value = text[:where] + bad + text[where:]
    problem = text_problem(value)
    assert problem is not None and f"U+{ord(bad):04X}" in problem


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")), max_size=60))
def test_accepted_text_is_stored_in_nfc_and_cleaning_is_idempotent(text):
    assert text_problem(text) is None
    cleaned = clean_text(text)
    assert cleaned == unicodedata.normalize("NFC", text) and clean_text(cleaned) == cleaned


def test_notes_keep_newlines_and_tabs_but_one_line_fields_refuse_line_breaks():
    assert text_problem("first line\n\tsecond\r\n") is None
    assert text_problem("a\nb", multiline=False) == "Line breaks are not allowed here."
    assert text_problem("a\tb", multiline=False) is None


def test_every_text_has_a_length_bound_with_a_message_that_gives_it():
    assert text_problem("x" * MAX_TEXT_LENGTH) is None
    assert text_problem("x" * (MAX_TEXT_LENGTH + 1)) == "At most 10,000 characters (this has 10,001)."
    assert text_problem("x" * (MAX_LINE_LENGTH + 1), multiline=False).startswith("At most 500 characters")
    assert text_problem("abc", max_length=2) == "At most 2 characters (this has 3)."


def test_messages_name_the_character_without_echoing_the_text():
    assert text_problem("Ann\u202eSmith") == (
        "Remove an invisible formatting character (U+202E RIGHT-TO-LEFT OVERRIDE); it is not allowed in text.")
    assert "DELETE" in text_problem("a\x7f") and "Ann" not in text_problem("Ann\x00")


def test_audit_data_keeps_a_digest_of_long_values_not_a_copy():
    note = "n" * 5000
    data = digest_large_values({"before": {"notes": note}, "after": [note, "short"], "count": 3})
    assert data["before"]["notes"] == {"sha256": data["after"][0]["sha256"], "chars": 5000}
    assert data["after"][1] == "short" and data["count"] == 3 and note not in str(data)


moments = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                       timezones=st.just(dt.UTC))


@given(moments)
def test_a_moment_is_accepted_exactly_between_birth_and_five_minutes_from_now(value):
    inside = dt.datetime.combine(BORN, dt.time(), dt.UTC) <= value <= NOW + plausible.CLOCK_TOLERANCE
    try:
        plausible.check_moment(value, now=NOW, born_on=BORN, tz=dt.UTC)
    except plausible.Implausible as exc:
        assert not inside and str(exc)
    else:
        assert inside


@given(st.dates())
def test_an_event_date_is_accepted_exactly_between_birth_and_today(value):
    try:
        plausible.check_event_date(value, today=TODAY, born_on=BORN)
    except plausible.Implausible:
        assert not BORN <= value <= TODAY
    else:
        assert BORN <= value <= TODAY


@given(st.dates())
def test_a_planned_date_is_accepted_from_1900_to_two_years_ahead(value):
    try:
        plausible.check_planned_date(value, today=TODAY)
    except plausible.Implausible:
        assert not plausible.EARLIEST <= value <= TODAY + plausible.PLAN_HORIZON
    else:
        assert plausible.EARLIEST <= value <= TODAY + plausible.PLAN_HORIZON


def test_the_messages_say_which_bound_was_crossed():
    def message(value, **kw):
        try:
            plausible.check_moment(value, now=NOW, **kw)
        except plausible.Implausible as exc:
            return str(exc)
        return None

    assert message(dt.datetime(1, 1, 1, tzinfo=dt.UTC)) == "This time is before 1900-01-01: check the year."
    assert message(NOW + dt.timedelta(minutes=6)) == "This time is in the future."
    assert message(NOW + dt.timedelta(minutes=4)) is None
    assert message(dt.datetime(1950, 1, 1, tzinfo=dt.UTC), born_on=BORN) == (
        "This time is before the patient's date of birth (1984-03-09).")
    assert message(dt.datetime(2026, 1, 1)).startswith("Give a time zone")


def test_a_moment_on_the_birth_day_counts_in_the_clinic_zone():
    import zoneinfo

    boston = zoneinfo.ZoneInfo("America/New_York")
    # 02:00 UTC on the 10th is still the 9th in Boston: the day of birth, so accepted.
    plausible.check_moment(dt.datetime(1984, 3, 10, 2, tzinfo=dt.UTC), now=NOW, born_on=dt.date(1984, 3, 10),
                           tz=dt.UTC)
    try:
        plausible.check_moment(dt.datetime(1984, 3, 10, 2, tzinfo=dt.UTC), now=NOW, born_on=dt.date(1984, 3, 10),
                               tz=boston)
    except plausible.Implausible:
        pass
    else:
        raise AssertionError("the 9th in Boston is before a birth on the 10th")

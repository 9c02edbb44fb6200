"""FHIR search parameters: a date parameter is a range and each prefix compares with that range as the FHIR search
rules define (fhir-mapping.md §5); tokens; and fhir.resources is imported by the interop app only."""

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.interop.domain.search import SearchError, parse_count, parse_date, parse_tokens

UTC = dt.UTC
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC))
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2089, 12, 31))


@given(day=dates, value=instants)
def test_a_day_is_a_range_and_the_prefixes_split_time_around_it(day, value):
    text = day.isoformat()
    eq, ge, gt = (parse_date("date", p + text, UTC) for p in ("", "ge", "gt"))
    lt, le = (parse_date("date", p + text, UTC) for p in ("lt", "le"))
    inside = day == value.date()
    assert eq.accepts(value) == inside
    assert ge.accepts(value) == (value.date() >= day) and lt.accepts(value) == (value.date() < day)
    assert gt.accepts(value) == (value.date() > day) and le.accepts(value) == (value.date() <= day)
    assert ge.accepts(value) != lt.accepts(value) and gt.accepts(value) != le.accepts(value)


@given(value=instants)
def test_months_and_years_hold_exactly_their_days(value):
    month = parse_date("date", value.strftime("%Y-%m"), UTC)
    year = parse_date("date", value.strftime("%Y"), UTC)
    assert month.accepts(value) and year.accepts(value)
    assert not month.accepts(month.end) and month.accepts(month.end - dt.timedelta(microseconds=1))
    assert (year.end - year.start).days in (365, 366)


def test_a_time_without_a_zone_is_the_clinics():
    eastern = dt.timezone(dt.timedelta(hours=-5))
    f = parse_date("date", "ge2026-03-02T09:00", eastern)
    assert f.start == dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert parse_date("date", "2026-03-02T09:00:00Z", eastern).start == dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(("text", "fragment"), [("sa2026", "prefix"), ("2026-13", "valid"), ("2026-1-1", "FHIR date"),
                                                ("99999", "FHIR date"), ("", "FHIR date")])
def test_bad_dates_are_refused_with_the_reason(text, fragment):
    with pytest.raises(SearchError, match=fragment):
        parse_date("date", text, UTC)


def test_tokens_and_counts():
    assert [(t.system, t.code) for t in parse_tokens("code", "http://loinc.org|44261-6,70274-6")] == [
        ("http://loinc.org", "44261-6"), (None, "70274-6")]
    for bad in ("|44261-6", "http://loinc.org|", ""):
        with pytest.raises(SearchError):
            parse_tokens("code", bad)
    assert parse_count(None) == 50 and parse_count("500") == 500
    for bad in ("0", "501", "-1", "ten"):
        with pytest.raises(SearchError):
            parse_count(bad)


def test_only_the_interop_app_imports_fhir_resources():
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"^\s*(from|import)\s+fhir\.resources", re.MULTILINE)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if pattern.search(p.read_text()) and not str(p.relative_to(root)).startswith("interop/")]
    assert offenders == []

"""The researcher's view: de-identified counts; no hidden small cell can be recovered by subtraction."""

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.accounts.roles import Role
from ketacare.outcomes.domain.deid import HIDDEN, cohort_by_age_and_sex
from ketacare.outcomes.domain.report import MIN_CELL
from ketacare.patients.models import Sex
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def cell_values(response):
    return [(row.band, row.cells, row.total) for row in response.context["age_sex_rows"]]


def test_small_cells_and_the_totals_that_would_reveal_them_are_hidden(client):
    researcher = UserFactory(role=Role.RESEARCHER)
    born = dt.date.today().replace(year=dt.date.today().year - 40) - dt.timedelta(days=30)
    PatientFactory.create_batch(20, clinic=researcher.clinic, sex=Sex.FEMALE, date_of_birth=born)
    PatientFactory.create_batch(5, clinic=researcher.clinic, sex=Sex.MALE, date_of_birth=born)
    client.force_login(researcher)
    response = client.get("/outcomes/research/")
    rows = {band: (cells, total) for band, cells, total in cell_values(response)}
    cells, total = rows["30–44"]
    assert cells[0] == "20" and cells[1] == f"<{MIN_CELL}"
    assert total == "hidden"  # 25 would reveal male = 5
    assert response.context["age_sex_total"] == "hidden"
    body = response.content.decode()
    # As a number in the page's text (a random CSP nonce or asset hash may contain the digits "25").
    assert not re.search(r">\s*25\s*<", body) and not re.search(r">\s*5\s*<", body)


def test_researcher_page_shows_no_names_or_mrns(client):
    researcher = UserFactory(role=Role.RESEARCHER)
    PatientFactory(clinic=researcher.clinic, family_name="Zielinski", mrn="SECRET-1")
    PatientFactory.create_batch(12, clinic=researcher.clinic, family_name="Zielinski")
    client.force_login(researcher)
    body = client.get("/outcomes/research/").content.decode()
    assert "Zielinski" not in body and "SECRET-1" not in body


SEXES = ["female", "male", "other"]


@given(st.lists(st.tuples(st.integers(0, 110), st.sampled_from(SEXES)), max_size=120))
def test_no_shown_count_is_small_and_no_hidden_cell_can_be_recovered(people):
    """privacy.md §2: counts under 11 are never shown, nor any total that would give one away by subtraction."""
    rows, total = cohort_by_age_and_sex(people, SEXES, min_cell=MIN_CELL)
    for row in rows:
        shown = [int(c) for c in row.cells if not c.startswith("<")]
        assert all(n >= MIN_CELL for n in shown)
        if len(shown) < len(row.cells):
            assert row.total == HIDDEN
        elif row.total != HIDDEN and not row.total.startswith("<"):
            assert int(row.total) == sum(shown)
    if total != HIDDEN:
        assert int(total) == len(people) >= MIN_CELL and all(r.total != HIDDEN for r in rows)
    assert [r.band for r in rows][-1] == "90+" and not any("89" in r.band and "65" not in r.band for r in rows)

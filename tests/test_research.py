"""The researcher's view: de-identified counts; no hidden small cell can be recovered by subtraction."""

import datetime as dt

import pytest

from ketacare.accounts.roles import Role
from ketacare.core.research import MIN_CELL
from ketacare.patients.models import Sex
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def cell_values(response):
    return [(row["band"], row["cells"], row["total"]) for row in response.context["rows"]]


def test_small_cells_and_the_totals_that_would_reveal_them_are_hidden(client):
    researcher = UserFactory(role=Role.RESEARCHER)
    born = dt.date.today().replace(year=dt.date.today().year - 40) - dt.timedelta(days=30)
    PatientFactory.create_batch(20, clinic=researcher.clinic, sex=Sex.FEMALE, date_of_birth=born)
    PatientFactory.create_batch(5, clinic=researcher.clinic, sex=Sex.MALE, date_of_birth=born)
    client.force_login(researcher)
    response = client.get("/research/")
    rows = {band: (cells, total) for band, cells, total in cell_values(response)}
    cells, total = rows["30–44"]
    assert cells[0] == "20" and cells[1] == f"<{MIN_CELL}"
    assert total == "hidden"  # 25 would reveal male = 5
    assert response.context["total"] == "hidden"
    body = response.content.decode()
    assert "25" not in body and ">5<" not in body


def test_researcher_page_shows_no_names_or_mrns(client):
    researcher = UserFactory(role=Role.RESEARCHER)
    PatientFactory(clinic=researcher.clinic, family_name="Zielinski", mrn="SECRET-1")
    PatientFactory.create_batch(12, clinic=researcher.clinic, family_name="Zielinski")
    client.force_login(researcher)
    body = client.get("/research/").content.decode()
    assert "Zielinski" not in body and "SECRET-1" not in body

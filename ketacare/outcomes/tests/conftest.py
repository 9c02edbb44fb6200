"""Outcome tests: the shared clinic (tests/clinic_fixtures.py) with a prescriber, a nurse and a clinic admin."""

import pytest

from ketacare.accounts.roles import Role
from ketacare.outcomes.tests.factories import staff
from tests.factories import UserFactory


@pytest.fixture
def users(clinic):
    return {**staff(clinic), "admin": UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN)}

"""Shared fixtures for app tests: a clinic with nurse and prescriber, patients, bearer headers."""

import datetime as dt

import pytest
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from tests.factories import ClinicFactory, PatientFactory, UserFactory

PHQ9_ITEM9 = "/44260-8"


@pytest.fixture
def clinic():
    return ClinicFactory()


@pytest.fixture
def nurse(clinic):
    return UserFactory(role=Role.NURSE, clinic=clinic)


@pytest.fixture
def prescriber(clinic):
    return UserFactory(role=Role.PRESCRIBER, clinic=clinic)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


@pytest.fixture
def foreign_patient():
    return PatientFactory(clinic=ClinicFactory())


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def earlier(now):
    return now - dt.timedelta(hours=1)


@pytest.fixture
def bearer():
    def headers(user):
        return {"Authorization": f"Bearer {token_create(user=user)}"}

    return headers

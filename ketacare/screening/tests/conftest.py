import datetime as dt
from decimal import Decimal

import pytest

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.screening import services
from ketacare.screening.tests.factories import CompleteIntakeFactory, record_baseline_questionnaires
from tests.factories import ClinicFactory, PatientFactory, UserFactory


@pytest.fixture
def clinic():
    return ClinicFactory()


@pytest.fixture
def nurse(clinic):
    return UserFactory(role=Role.NURSE, clinic=clinic, first_name="Noah", last_name="Okafor")


@pytest.fixture
def prescriber(clinic):
    return UserFactory(role=Role.PRESCRIBER, clinic=clinic, first_name="Priya", last_name="Raman")


@pytest.fixture
def prescriber2(clinic):
    return UserFactory(role=Role.PRESCRIBER, clinic=clinic, first_name="Sam", last_name="Second")


@pytest.fixture
def admin(clinic):
    return UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, given_name="Ximena", family_name="Quintero",
                          date_of_birth=dt.date(1985, 6, 15))


@pytest.fixture
def foreign_patient():
    return PatientFactory(clinic=ClinicFactory())


@pytest.fixture
def assessed(patient, nurse):
    """A fully assessed patient, eligible for both routes: MDD with two failed adequate antidepressant trials,
    nothing contraindicating, baseline C-SSRS none and PHQ-9 item 9 = 0."""
    CompleteIntakeFactory(patient=patient, updated_by=nurse)
    services.diagnosis_add(actor=nurse, patient=patient, code="F33.1")
    services.diagnosis_add(actor=nurse, patient=patient, code="F40.10")
    for name in ("sertraline", "venlafaxine"):
        services.trial_add(actor=nurse, patient=patient, name=name, kind="oral_antidepressant",
                           dose_mg_per_day=Decimal("150"), duration_weeks=8, adequate=True, response="none",
                           current_episode=True)
    record_baseline_questionnaires(patient, nurse)
    return patient


@pytest.fixture
def bearer():
    def headers(user):
        return {"Authorization": f"Bearer {token_create(user=user)}"}

    return headers

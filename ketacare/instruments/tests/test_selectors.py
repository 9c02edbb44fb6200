"""Reading responses and instruments: clinic and role scoping, current versions, bounded queries."""

import datetime as dt

import pytest

from ketacare.accounts.roles import Role
from ketacare.instruments import selectors, services
from ketacare.instruments.selectors import InstrumentNotFound, ResponseNotFound
from ketacare.instruments.tests.factories import ResponseFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_latest_responses_are_the_newest_current_one_per_instrument(patient, nurse, now, django_assert_num_queries):
    ResponseFactory(patient=patient, answered_at=now - dt.timedelta(days=9))
    new = ResponseFactory(patient=patient, answered_at=now - dt.timedelta(days=2))
    gad = ResponseFactory(patient=patient, instrument_key="gad-7", answered_at=now - dt.timedelta(days=5))
    ResponseFactory(instrument_key="gad-7")  # another patient
    with django_assert_num_queries(1):
        assert selectors.latest_responses(patient=patient) == {"phq-9": new, "gad-7": gad}
    amendment = services.response_amend(original=new, actor=nurse, answers=[0] * 9, reason="typo")
    assert selectors.latest_responses(patient=patient)["phq-9"] == amendment


def test_responses_for_needs_clinical_access_in_the_same_clinic(patient, nurse, foreign_patient):
    ResponseFactory(patient=patient)
    ResponseFactory(patient=foreign_patient)
    assert selectors.responses_for(user=nurse, patient=patient).count() == 1
    assert selectors.responses_for(user=nurse, patient=foreign_patient).count() == 0
    front_desk = UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic)
    assert selectors.responses_for(user=front_desk, patient=patient).count() == 0


def test_response_get_for_hides_other_clinics_and_non_clinical_roles(patient, nurse, foreign_patient):
    mine, theirs = ResponseFactory(patient=patient), ResponseFactory(patient=foreign_patient)
    assert selectors.response_get_for(user=nurse, response_id=mine.pk) == mine
    for user, response_id in [(nurse, theirs.pk), (nurse, 10**9),
                              (UserFactory(role=Role.CLINIC_ADMIN, clinic=patient.clinic), mine.pk)]:
        with pytest.raises(ResponseNotFound):
            selectors.response_get_for(user=user, response_id=response_id)


def test_instrument_get_knows_shipped_versions_and_refuses_unknown_ones():
    assert selectors.instrument_get("gad-7").version == "1.0.0"
    assert selectors.instrument_get("gad-7", version="1.0.0").key == "gad-7"
    for key, version in [("madrs", None), ("gad-7", "9.9.9")]:
        with pytest.raises(InstrumentNotFound):
            selectors.instrument_get(key, version=version)

"""Factories for questionnaire responses (fake data only), reusing tests.factories."""

import factory
from django.utils import timezone

from ketacare.instruments.models import QuestionnaireResponse
from tests.factories import PatientFactory, UserFactory


class ResponseFactory(factory.django.DjangoModelFactory):
    """A stored PHQ-9 row written directly (no scoring): for selector and view tests that need history fast.
    Use services.response_record when the scores must be real."""

    class Meta:
        model = QuestionnaireResponse

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    instrument_key = "phq-9"
    instrument_version = "1.0.0"
    answers = factory.LazyFunction(dict)
    answered_at = factory.LazyFunction(timezone.now)
    mode = "self_report"
    entered_by = factory.SubFactory(UserFactory, clinic=factory.SelfAttribute("..clinic"))
    entered_at = factory.LazyFunction(timezone.now)
    status = "complete"
    total = 10
    band = "moderate"

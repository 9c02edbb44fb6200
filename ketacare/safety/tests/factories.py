"""Factories for safety alerts."""

import factory
from django.utils import timezone

from ketacare.safety.models import Alert
from tests.factories import PatientFactory


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    code = "phq9.item9_positive"
    severity = "high"
    message = "PHQ-9 item 9 answered above \"Not at all\": same-day suicide-risk assessment."
    source_type = "questionnaire_response"
    source_id = factory.Sequence(lambda n: 100000 + n)
    raised_at = factory.LazyFunction(timezone.now)

"""The demo seeder: trajectories with baselines and follow-ups, one open alert, idempotent."""

import pytest
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.safety.models import Alert
from ketacare.seed.instruments import seed_questionnaires
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_questionnaires_are_seeded_once_with_one_open_alert():
    clinic = ClinicFactory(code="rkc")
    for n in range(1, 7):
        PatientFactory(clinic=clinic, mrn=f"RKC-{n:06d}")
    users = {"nurse": UserFactory(username="nurse", role=Role.NURSE, clinic=clinic),
             "prescriber": UserFactory(username="prescriber", role=Role.PRESCRIBER, clinic=clinic)}
    seed_questionnaires(clinic, users, timezone.localdate())
    count = QuestionnaireResponse.objects.filter(clinic=clinic).count()
    assert count >= 20
    assert {"phq-9", "gad-7", "lsas-sr"} <= set(QuestionnaireResponse.objects.values_list("instrument_key", flat=True))
    first = QuestionnaireResponse.objects.filter(patient__mrn="RKC-000001", instrument_key="phq-9").order_by(
        "answered_at")
    assert [r.total for r in first] == [19, 13, 8, 4]  # baseline and follow-ups
    assert list(Alert.objects.filter(clinic=clinic, status="open").values_list("code", flat=True)) == [
        "phq9.item9_positive"]
    acknowledged = Alert.objects.get(status="acknowledged")
    assert acknowledged.action_taken and acknowledged.acknowledged_by.username == "prescriber"
    assert QuestionnaireResponse.objects.filter(supersedes__isnull=False).count() == 1
    seed_questionnaires(clinic, users, timezone.localdate())
    assert QuestionnaireResponse.objects.filter(clinic=clinic).count() == count
    assert Alert.objects.count() == 2

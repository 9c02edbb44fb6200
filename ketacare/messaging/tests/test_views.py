"""The outbox page: the clinic admin reads the clinic's messages with their bodies; nobody else's; audited."""

import pytest
from django.urls import reverse

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.messaging.services import enqueue
from tests.factories import PASSWORD, ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _message(clinic, body):
    return enqueue(clinic=clinic, channel="email", to="sam@example.test", subject="Check-in", body=body,
                   purpose="test.reminder")


def test_the_clinic_admin_sees_the_clinics_messages_and_not_another_clinics(client, clinic):
    admin = UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN)
    ours = _message(clinic, "Riverside: our message body.")
    _message(ClinicFactory(), "Elsewhere: their message body.")
    client.login(username=admin.username, password=PASSWORD)
    page = client.get(reverse("messaging:outbox")).content.decode()
    assert "Riverside: our message body." in page and ours.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert "their message body" not in page
    event = AuditEvent.objects.get(action=AuditAction.OUTBOX_VIEWED)
    assert event.actor == admin and event.data == {"count": 1}


def test_the_status_filter_narrows_the_list(client, clinic):
    admin = UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN)
    _message(clinic, "Riverside: queued one.")
    client.login(username=admin.username, password=PASSWORD)
    assert "queued one" not in client.get(reverse("messaging:outbox"), {"status": "sent"}).content.decode()
    assert "queued one" in client.get(reverse("messaging:outbox"), {"status": "queued"}).content.decode()


def test_a_nurse_may_not_read_the_outbox(client, nurse):
    client.login(username=nurse.username, password=PASSWORD)
    assert client.get(reverse("messaging:outbox")).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.OUTBOX_VIEWED).exists()

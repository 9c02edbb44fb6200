"""Every read of patient data writes an audit row naming the patient (privacy.md §1, audit controls).

Walks every page (Django's resolver) and every API route (the OpenAPI document) that takes an object id, with the
access matrix's machinery (tests/test_access_matrix.py): each is requested by GET as a role allowed to reach it, with
real objects of one patient; a 200 that wrote no audit row naming that patient fails. A new route is covered by
this test the day it is added. The routes below return no patient data, and say why.
"""

import pytest

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditEvent
from tests.test_access_matrix import API, PAGES, PUBLIC, concrete, make_world, page_patterns

pytestmark = pytest.mark.django_db

# Who asks, in this order: the first role allowed to reach a route.
ROLE_ORDER = [Role.NURSE, Role.PRESCRIBER, Role.THERAPIST, Role.CLINIC_ADMIN, Role.FRONT_DESK, Role.RESEARCHER,
              Role.AUDITOR]

NO_PATIENT_DATA = {
    "accounts:staff-edit": "a staff member's role and status",
    "screening:consent-document-detail": "the clinic's consent text and how many consents use it (a number)",
    "screening:consent-document-edit": "the clinic's consent text, being drafted",
    "ledger:count": "the stock of one storage location (lots and amounts, no patient)",
}


@pytest.fixture
def world():
    return make_world()


def _asker(allowed):
    return next(role for role in ROLE_ORDER if allowed == PUBLIC or role in allowed)


def _audited(before: int, patient_id: int) -> bool:
    return AuditEvent.objects.filter(pk__gt=before, patient_id=patient_id).exists()


def _last_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_every_page_that_shows_a_patients_record_audits_the_read(client, world):
    patient = world["patient"]
    unaudited, checked = [], 0
    for name, route, _ in page_patterns():
        method, allowed = PAGES[name]
        if method != "get" or "<" not in route or name in NO_PATIENT_DATA:
            continue
        client.force_login(world["users"][_asker(allowed)])
        before = _last_id()
        response = client.get(concrete(route, world["ids"]))
        if response.status_code == 200:
            checked += 1
            if not _audited(before, patient.pk):
                unaudited.append(name)
    assert checked > 20
    assert unaudited == [], f"these pages read patient data without an audit row naming the patient: {unaudited}"


def test_every_api_route_that_returns_a_patients_record_audits_the_read(client, world):
    patient = world["patient"]
    unaudited, checked = [], 0
    for (method, path), allowed in API.items():
        if method != "get" or "{" not in path or path in NO_PATIENT_DATA:
            continue
        headers = {"Authorization": f"Bearer {token_create(user=world['users'][_asker(allowed)])}"}
        before = _last_id()
        response = client.get(concrete(path, world["ids"]), headers=headers)
        if response.status_code == 200:
            checked += 1
            if not _audited(before, patient.pk):
                unaudited.append(path)
    assert checked > 5
    assert unaudited == [], "these API routes read patient data without an audit row naming the patient: {unaudited}"

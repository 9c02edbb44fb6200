"""Alert pages: clinic list with filter (htmx), detail with the acknowledge form, chart panel, every-page banner."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.safety.models import Alert
from ketacare.safety.services import alert_acknowledge
from ketacare.safety.tests.factories import AlertFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BANNER = "unacknowledged high-severity safety alert"


def test_the_list_shows_open_alerts_by_default_and_filters_with_htmx(client, nurse, patient, foreign_patient):
    AlertFactory(patient=patient, message="Open one")
    alert_acknowledge(alert=AlertFactory(patient=patient, code="x", message="Done one"), actor=nurse,
                             action="Seen")
    AlertFactory(patient=foreign_patient, message="Elsewhere")
    client.force_login(nurse)
    page = client.get("/alerts/").content.decode()
    assert "Open one" in page and "Done one" not in page and "Elsewhere" not in page
    partial = client.get("/alerts/?status=acknowledged",
                         headers={"HX-Request": "true", "HX-Target": "alert-results"}).content.decode()
    assert partial.lstrip().startswith('<section id="alert-results"') and "Done one" in partial
    assert "Open one" not in partial and "Acknowledged by" in partial and "after" in partial
    everything = client.get("/alerts/?status=all").content.decode()
    assert "Open one" in everything and "Done one" in everything
    assert AuditEvent.objects.filter(action=AuditAction.ALERTS_LISTED).count() == 3


def test_the_list_query_count_is_bounded(client, nurse, patient):
    client.force_login(nurse)
    client.get("/")  # the session's first write is not part of either measurement

    def queries():
        caches["default"].clear()  # the same cached state (banner counts) for both measurements
        with CaptureQueriesContext(connection) as captured:
            client.get("/alerts/?status=all")
        return len(captured)

    AlertFactory(patient=patient)
    few = queries()
    AlertFactory.create_batch(10, patient=patient)
    assert queries() == few


def test_acknowledging_on_the_detail_page(client, nurse, patient):
    alert = AlertFactory(patient=patient)
    client.force_login(nurse)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Acknowledge alert" in page and "Action taken" in page
    refused = client.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "  "})
    assert refused.status_code == 422 and "Describe the action taken" in refused.content.decode()
    assert Alert.objects.get().status == "open"
    done = client.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "Called the patient; C-SSRS low risk"})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.action_taken) == (
        "acknowledged", nurse, "Called the patient; C-SSRS low risk")
    shown = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Time to acknowledge" in shown and "Acknowledge alert" not in shown
    again = client.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "again"})
    assert again.status_code == 302 and Alert.objects.get().action_taken.startswith("Called")


def test_a_therapist_sees_alerts_but_cannot_acknowledge(client, patient):
    alert = AlertFactory(patient=patient)
    client.force_login(UserFactory(role=Role.THERAPIST, clinic=patient.clinic))
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Acknowledge alert" not in page and "A nurse or prescriber acknowledges" in page
    assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "x"}).status_code == 403
    assert client.get(f"/alerts/{alert.pk}/acknowledge/").status_code in (403, 405)


def test_another_clinics_alert_is_404(client, nurse, foreign_patient):
    alert = AlertFactory(patient=foreign_patient)
    client.force_login(nurse)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "x"}).status_code == 404
    assert Alert.objects.get().status == "open"


def test_the_detail_links_to_the_source_questionnaire_response(client, nurse, patient):
    from ketacare.instruments.tests.factories import ResponseFactory

    response = ResponseFactory(patient=patient, entered_by=nurse)
    alert = AlertFactory(patient=patient, source_id=response.pk)
    client.force_login(nurse)
    assert f'href="/measure/responses/{response.pk}/"' in client.get(f"/alerts/{alert.pk}/").content.decode()


def test_the_chart_panel_lists_open_and_recent_alerts(client, nurse, patient):
    AlertFactory(patient=patient, message="Still open")
    alert_acknowledge(alert=AlertFactory(patient=patient, code="y", message="Dealt with"), actor=nurse, action="ok")
    client.force_login(nurse)
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    panel = chart[chart.index('id="panel-alerts"'):chart.index('id="panel-questionnaires"')]
    assert "Still open" in panel and "Recently acknowledged (1)" in panel and "Dealt with" in panel


@pytest.mark.parametrize("role, shown", [(Role.NURSE, True), (Role.PRESCRIBER, True), (Role.THERAPIST, True),
                                         (Role.FRONT_DESK, False), (Role.CLINIC_ADMIN, False),
                                         (Role.RESEARCHER, False), (Role.AUDITOR, False)])
def test_the_banner_shows_on_every_page_for_clinical_roles(client, patient, role, shown):
    AlertFactory(patient=patient, severity="high")
    client.force_login(UserFactory(role=role, clinic=patient.clinic))
    for url in ["/", "/banners/"]:
        assert (BANNER in client.get(url).content.decode()) is shown, url


def test_the_banner_ignores_lower_severities_other_clinics_and_acknowledged_alerts(client, nurse, patient,
                                                                                 foreign_patient):
    AlertFactory(patient=patient, severity="moderate")
    AlertFactory(patient=patient, severity="prompt", code="p")
    AlertFactory(patient=foreign_patient, severity="emergency")
    alert_acknowledge(alert=AlertFactory(patient=patient, severity="high", code="h"), actor=nurse, action="done")
    client.force_login(nurse)
    assert BANNER not in client.get("/").content.decode()
    AlertFactory(patient=patient, severity="emergency", code="e")
    AlertFactory(patient=patient, severity="high", code="f")
    page = client.get("/").content.decode()
    assert "2 unacknowledged high-severity safety alerts" in page and 'href="/alerts/?status=open"' in page

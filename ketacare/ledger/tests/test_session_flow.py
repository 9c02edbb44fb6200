"""Acceptance 5: a session's dose draws from the ledger; discharge (and signing the note) is refused while the draw
is unreconciled; the dispensing log then shows the patient, the quantity, who gave it and the waste's witness."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ketacare.audit.models import AuditEvent
from ketacare.ledger import reports, services
from ketacare.ledger.models import StockBalance
from ketacare.ledger.tests.factories import make_stock
from ketacare.treatment import services as treatment
from ketacare.treatment.choices import SessionState
from ketacare.treatment.tests.factories import started_course, walk

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def ready():
    """An IV session ready for discharge whose nurse drew 1 mL (50 mg) and gave 0.8 mL (40 mg)."""
    with time_machine.travel(T0, tick=False) as traveller:
        s = make_stock()
        s.patient_address = "12 Elm St"
        session = started_course(protocol_ref="iv-ketamine-induction@1", prescriber=s.prescriber).sessions.first()
        session.patient.address_line, session.patient.city = "12 Elm St", "Salem"
        session.patient.save()
        walk(session, nurse=s.nurse, prescriber=s.prescriber, until=SessionState.DOSING, traveller=traveller)
        draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                                    quantity="1")
        infusion = session.administrations.get()
        services.ledger_administer(actor=s.nurse, draw=draw, quantity="0.8", administration_id=infusion.pk)
        walk(session, nurse=s.nurse, prescriber=s.prescriber, until=SessionState.READY_FOR_DISCHARGE,
             traveller=traveller)
        session.refresh_from_db()
        yield s, session, draw


def test_discharge_and_signing_are_refused_until_the_draw_is_reconciled(ready):
    s, session, draw = ready
    with pytest.raises(treatment.SessionStateConflict, match=r"0.2 mL of lot K-1001 drawn but not administered"):
        treatment.session_transition(actor=s.nurse, session=session, to="discharged")
    session.refresh_from_db()
    assert session.state == "ready_for_discharge"
    services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.2", method="drug-waste container",
                          witness_username=s.witness.username, witness_password=s.password)
    treatment.session_transition(actor=s.nurse, session=session, to="discharged")
    session.refresh_from_db()
    assert session.state == "discharged"
    treatment.session_sign(actor=s.nurse, session=session, text="Tolerated well.")


def test_signing_an_escalated_session_is_refused_while_its_draw_is_open(ready):
    s, session, draw = ready
    treatment.session_transition(actor=s.nurse, session=session, to="escalated", reason="transferred to ED")
    with pytest.raises(treatment.SessionStateConflict, match="not reconciled"):
        treatment.session_sign(actor=s.nurse, session=session, text="Escalated.")
    session.refresh_from_db()
    assert session.signed_at is None


def test_the_dispensing_log_shows_patient_quantity_who_gave_it_and_the_witness(ready):
    s, session, draw = ready
    services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.2", method="drug-waste container",
                          witness_username=s.witness.username, witness_password=s.password)
    rows = reports.dispensing_log(user=s.admin, lot_id=s.ketamine_lot.pk)
    kinds = [r.values["kind"] for r in rows]
    assert kinds == ["receive", "draw", "administer", "waste"]
    receive, _draw, given, waste = (r.values for r in rows)
    assert receive["supplier"] == "Northeast Medical Supply" and receive["supplier_dea"] == "RN7654321"
    assert given["patient"] == session.patient.full_name and "12 Elm St, Salem" in given["patient_address"]
    assert (given["quantity"], given["mg"], given["by"]) == ("0.8", "40", s.nurse.get_full_name())
    assert (waste["quantity"], waste["witness"], waste["manner"]) == ("0.2", s.witness.get_full_name(),
                                                                      "drug-waste container")
    assert StockBalance.objects.get(lot=s.ketamine_lot, location=s.safe).on_hand == Decimal(19)
    text = reports.to_csv(rows)
    assert session.patient.full_name in text and "witness 2" in text.splitlines()[0]


def test_the_board_flags_a_session_with_an_unreconciled_draw(ready, client):
    s, session, draw = ready
    client.force_login(s.nurse)
    page = client.get("/treatment/board/").content.decode()
    assert "unreconciled draw" in page
    services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.2", method="sink",
                          witness_username=s.witness.username, witness_password=s.password)
    assert "unreconciled draw" not in client.get("/treatment/board/").content.decode()


def test_the_session_page_offers_the_first_expiring_lot_and_the_log_page_is_audited(ready, client):
    s, session, draw = ready
    client.force_login(s.nurse)
    page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "Controlled substance" in page and "0.2" in page and "Waste with witness" in page
    client.force_login(s.admin)
    response = client.get("/ledger/reports/dispensing")
    assert response.status_code == 200 and session.patient.full_name in response.content.decode()
    event = AuditEvent.objects.filter(action="ledger_viewed", actor=s.admin).latest("at")
    assert event.data["patient_ids"] == [session.patient_id]
    pdf = client.get("/ledger/reports/dispensing?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

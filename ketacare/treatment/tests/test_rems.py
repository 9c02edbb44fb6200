"""Acceptance 4: the REMS Patient Monitoring Form of a completed esketamine session has every required field (or
lists which are missing), the REMS board sorts by deadline, the PDF renders, and REMS rules follow the clinic's
configuration flags."""

import datetime as dt
import shutil
import subprocess

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.treatment import services
from ketacare.treatment.domain.rems import PMF_FIELDS
from ketacare.treatment.domain.states import TransitionRefused
from ketacare.treatment.models import PatientMonitoringForm, RecordImmutable
from ketacare.treatment.rems import form_draft, form_status
from ketacare.treatment.tests.factories import BASELINE, staff, started_course, walk
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # 09:00 in New York
REQUIRED = [f.key for f in PMF_FIELDS if f.required]


def configure_rems(clinic, **values):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic)
    return services.rems_configure(actor=admin, reason="compliance owner set-up", **{
        "setting_name": "Riverside Ketamine Clinic", "address_1": "1 Example Street", "city": "Boston",
        "state": "MA", "zip_code": "02115", "telephone": "+1 617 555 0100", **values})


def complete_session(nurse, prescriber, traveller, *, with_40_min_bp=True, patient=None):
    session = started_course(prescriber=prescriber, patient=patient).sessions.first()
    session = walk(session, nurse=nurse, prescriber=prescriber, until="observation", traveller=traveller)
    if with_40_min_bp:
        traveller.move_to(session.first_dose_at + dt.timedelta(minutes=40))
        services.vitals_record(actor=nurse, session=session, systolic_mmhg=150, diastolic_mmhg=92,
                               heart_rate_bpm=80, spo2_pct=97, moaas=4)
    return walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)


@pytest.fixture
def team():
    nurse, prescriber = staff()
    nurse.email = "noah@riverside.example"
    nurse.save()
    configure_rems(nurse.clinic)
    return nurse, prescriber


def test_completed_esketamine_session_fills_every_required_field(team):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        session = complete_session(nurse, prescriber, traveller)
        form = session.rems_form
        draft = form_draft(form)
    assert draft.complete, (draft.missing, draft.problems)
    assert all(draft.fields[key] not in (None, "") for key in REQUIRED)
    f = draft.fields
    assert (f["dose_administered"], f["lot_number"], str(f["bp_prior_to_administration"]),
            str(f["bp_40_min_post_administration"]), f["treatment_date"]) == (
        "56 mg", "LOT-ESK-1", "128/82", "150/92", dt.date(2026, 3, 2))
    assert f["total_treatment_minutes"] >= 120 and f["first_treatment"] is True
    assert (f["hcp_first_name"], f["hcp_email"], f["setting_city"]) == ("Noah", "noah@riverside.example", "Boston")
    assert f["sedation"] is True  # MOAA/S 4 at 40 min = mild sedation
    assert f["dissociation"] is None and f["respiratory_depression"] is False  # no CADSS taken; SpO2 and RR fine
    assert form.due_on == dt.date(2026, 3, 9)


def test_missing_fields_are_listed_by_name(team):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        session = complete_session(nurse, prescriber, traveller, with_40_min_bp=False)
        draft = form_draft(session.rems_form)
    assert draft.missing == ("bp_40_min_post_administration",)
    assert not draft.complete


def test_an_incomplete_form_cannot_be_submitted_and_a_complete_one_freezes(team):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        incomplete = complete_session(nurse, prescriber, traveller, with_40_min_bp=False).rems_form
        with pytest.raises(services.PmfIncomplete) as exc:
            services.pmf_submit(actor=nurse, form=incomplete)
        assert exc.value.details["missing"] == ["bp_40_min_post_administration"]
        traveller.move_to(T0 + dt.timedelta(days=1))
        form = complete_session(nurse, prescriber, traveller, patient=incomplete.session.patient).rems_form
        services.pmf_submit(actor=nurse, form=form, reference="CONF-1")
    form.refresh_from_db()
    assert form.submitted_by == nurse and form.data["fields"]["lot_number"] == "LOT-ESK-1"
    assert form.data["fields"]["first_treatment"] is False  # the patient's second esketamine session
    form.submission_reference = "CHANGED"
    with pytest.raises(RecordImmutable):
        form.save()
    assert AuditEvent.objects.filter(action=AuditAction.PMF_SUBMITTED).count() == 1


def test_deadline_status_pending_due_soon_overdue_submitted(team):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        form = complete_session(nurse, prescriber, traveller).rems_form
    day = form.session_on
    assert [form_status(form, day + dt.timedelta(n)).value for n in (0, 4, 5, 7, 8)] == [
        "pending", "pending", "due_soon", "due_soon", "overdue"]


def test_rems_board_lists_unsubmitted_forms_earliest_deadline_first(client, team):
    nurse, prescriber = team
    forms = []
    with time_machine.travel(T0, tick=False) as traveller:
        for day in (3, 0, 1):  # created out of order
            traveller.move_to(T0 + dt.timedelta(days=day))
            forms.append(complete_session(nurse, prescriber, traveller).rems_form)
        services.pmf_submit(actor=nurse, form=forms[1])
        traveller.move_to(T0 + dt.timedelta(days=9))
        client.force_login(nurse)
        response = client.get("/treatment/rems/")
        overdue = client.get("/treatment/rems/?status=overdue")
    rows = response.context["rows"]
    assert [r["form"].pk for r in rows] == [forms[2].pk, forms[0].pk, forms[1].pk]
    assert [r["status"].value for r in rows] == ["overdue", "due_soon", "submitted"]
    assert [r["form"].pk for r in overdue.context["rows"]] == [forms[2].pk]
    assert "1 day late" in response.content.decode()


def test_pdf_of_the_form_is_a_real_pdf_with_its_fields(client, team, tmp_path):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        form = complete_session(nurse, prescriber, traveller).rems_form
    client.force_login(nurse)
    response = client.get(f"/treatment/rems/forms/{form.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and f"rems-pmf-{form.pk}.pdf" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action=AuditAction.PMF_EXPORTED, actor=nurse).exists()
    if shutil.which("pdftotext"):
        (tmp_path / "f.pdf").write_bytes(response.content)
        text = subprocess.run(["pdftotext", str(tmp_path / "f.pdf"), "-"], capture_output=True, text=True).stdout
        assert "Patient Monitoring Form" in text and "LOT-ESK-1" in text and "150/92" in text


def test_inpatient_settings_submit_no_form_and_enroll_no_patient():
    nurse, prescriber = staff()
    configure_rems(nurse.clinic, setting_type="inpatient")
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)
    assert not PatientMonitoringForm.objects.exists()


def test_enrollment_flag_blocks_the_first_dose_until_enrolled():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False):
        session = started_course(prescriber=prescriber).sessions.first()
        services.session_transition(actor=nurse, session=session, to="checked_in")
        services.session_transition(actor=nurse, session=session, to="pre_dose")
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=nurse, session=session, to="dosing")
        assert "predose.rems_not_enrolled" in [r.code for r in exc.value.refusals]
        configure_rems(nurse.clinic, patient_enrollment_required=False)
        with pytest.raises(TransitionRefused) as exc:
            services.session_transition(actor=nurse, session=session, to="dosing")
        assert "predose.rems_not_enrolled" not in [r.code for r in exc.value.refusals]


def test_pmf_flag_off_creates_no_form():
    nurse, prescriber = staff()
    configure_rems(nurse.clinic, pmf_required=False)
    with time_machine.travel(T0, tick=False) as traveller:
        walk(started_course(prescriber=prescriber).sessions.first(), nurse=nurse, prescriber=prescriber,
             traveller=traveller)
    assert not PatientMonitoringForm.objects.exists()


def test_rems_configuration_is_versioned_and_validated():
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    first = configure_rems(admin.clinic)
    second = services.rems_configure(actor=admin, reason="REMS change", pmf_due_days=10)
    assert (first.revision, second.revision, second.pmf_due_days, second.city) == (1, 2, 10, "Boston")
    with pytest.raises(Exception, match="template"):
        services.rems_configure(actor=admin, reason="x", pmf_template="1999-01")
    assert BASELINE  # keep the import used


def test_the_pdf_of_the_form_is_never_cached(client, team):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        form = complete_session(nurse, prescriber, traveller).rems_form
    client.force_login(nurse)
    assert "no-store" in client.get(f"/treatment/rems/forms/{form.pk}/pdf/")["Cache-Control"]


def test_rems_board_queries_do_not_grow_with_forms(client, team, django_assert_num_queries):
    nurse, prescriber = team
    with time_machine.travel(T0, tick=False) as traveller:
        complete_session(nurse, prescriber, traveller)
        client.force_login(nurse)
        client.get("/treatment/rems/")
        with CaptureQueriesContext(connection) as one_form:
            client.get("/treatment/rems/")
        queries_for_one = len(one_form.captured_queries)  # read now: each request resets the log
        for day in (1, 2):
            traveller.move_to(T0 + dt.timedelta(days=day))
            complete_session(nurse, prescriber, traveller)
        client.force_login(nurse)  # a fresh sign-in: days have passed
        client.get("/treatment/rems/")
        with django_assert_num_queries(queries_for_one):
            client.get("/treatment/rems/")

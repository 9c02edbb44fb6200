"""`ketacare synth`: a consistent network of clinics, with a progress bar, on SQLite and PostgreSQL."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from ketacare.core.models import Clinic
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.outcomes.models import InstrumentOutcome, OutcomeRefresh, PatientOutcome
from ketacare.patients.models import Patient
from ketacare.safety.models import Alert
from ketacare.treatment.models import Course, DoseAdministration, DosingSession, SessionMeasure, VitalsReading

pytestmark = pytest.mark.django_db(transaction=True)


def test_synth_generates_a_consistent_network_with_a_progress_bar():
    out, err = io.StringIO(), io.StringIO()
    call_command("synth", patients=30, clinics=3, seed=5, batch=10, stdout=out, stderr=err)
    assert "30 patients in 3 clinic(s)" in out.getvalue()
    assert "30/30 patients" in err.getvalue() and "[" in err.getvalue()
    clinics = Clinic.objects.filter(code__startswith="syn")
    assert clinics.count() == 3
    assert Patient.objects.filter(clinic__in=clinics).count() == 30
    assert set(Patient.objects.values_list("clinic_id", flat=True).annotate(n=Count("id")).values_list("n",
                                                                                                     flat=True)) == {10}
    dosed = DosingSession.objects.filter(first_dose_at__isnull=False)
    # every dosed session: a dose given, three sets of vitals, a pre-dose PHQ-9; rows stay in their clinic
    assert not dosed.annotate(n=Count("administrations")).filter(n=0).exists()
    assert not dosed.annotate(n=Count("vitals")).exclude(n=3).exists()
    assert SessionMeasure.objects.filter(instrument_key="phq-9", timing="pre").count() == dosed.count()
    assert not DosingSession.objects.exclude(clinic_id=models_f("course__clinic_id")).exists()
    assert not DoseAdministration.objects.exclude(clinic_id=models_f("session__clinic_id")).exists()
    assert not VitalsReading.objects.exclude(clinic_id=models_f("session__clinic_id")).exists()
    # scores are the engine's, and every positive PHQ-9 item 9 raised an alert
    positive = QuestionnaireResponse.objects.filter(instrument_key="phq-9", **{"item_scores__/44260-8__gte": 1})
    assert positive.count() == Alert.objects.filter(code="phq9.item9_positive").count() > 0
    assert not Alert.objects.filter(status="acknowledged", acknowledged_at__isnull=True).exists()
    # every patient with a dose has a summary; the clinics are marked current
    assert PatientOutcome.objects.count() == Course.objects.filter(
        Q(route__in=["iv", "intranasal"])).values("patient").distinct().count()
    assert InstrumentOutcome.objects.filter(instrument_key="phq-9", baseline__isnull=False).count() >= 25
    assert OutcomeRefresh.objects.filter(clinic__in=clinics).count() == 3


def models_f(name):
    from django.db.models import F

    return F(name)


def test_synth_refuses_nonsense():
    with pytest.raises(CommandError):
        call_command("synth", patients=0)
    with pytest.raises(CommandError):
        call_command("synth", patients=2, clinics=3)

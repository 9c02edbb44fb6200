"""route_clearance: a course may start only with an effective signed approval for its route and a current consent."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from ketacare.screening.selectors import RouteNotCleared, UnknownRoute, route_clearance, route_clearance_require
from ketacare.screening.tests.factories import (
    ApprovedDecisionFactory,
    CosignedOverrideFactory,
    DeclinedDecisionFactory,
    EligibilityDecisionFactory,
    OverrideAwaitingCosignFactory,
    PatientConsentFactory,
    clear_for_route,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
ESK, IV = "esketamine", "iv-ketamine"


@pytest.fixture
def patient():
    return PatientFactory()


@pytest.fixture
def nurse(patient):
    from ketacare.accounts.roles import Role
    from tests.factories import UserFactory

    return UserFactory(role=Role.NURSE, clinic=patient.clinic)


def today():
    return timezone.localdate()


def test_approval_and_current_consent_clear_the_route(patient):
    decision, consent = clear_for_route(patient, ESK)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert clearance.ok and clearance.reasons == []
    assert clearance.decision == decision and clearance.consent == consent


def test_nothing_on_file_gives_both_reasons(patient):
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert not clearance.ok
    assert clearance.reasons == ["No signed eligibility approval for Esketamine nasal spray",
                                 "No consent to Esketamine nasal spray on file"]
    assert clearance.decision is None and clearance.consent is None


def test_clearance_is_per_route(patient):
    clear_for_route(patient, IV)
    assert route_clearance(patient=patient, route=IV, on=today()).ok
    esk = route_clearance(patient=patient, route=ESK, on=today())
    assert not esk.ok and len(esk.reasons) == 2


def test_consent_without_approval_is_refused(patient):
    PatientConsentFactory(patient=patient, route=ESK)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert clearance.reasons == ["No signed eligibility approval for Esketamine nasal spray"]


def test_approval_without_consent_is_refused(patient):
    ApprovedDecisionFactory(patient=patient, route=ESK)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert clearance.reasons == ["No consent to Esketamine nasal spray on file"]


def test_unsigned_evaluation_is_not_an_approval(patient):
    EligibilityDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=ESK)
    assert route_clearance(patient=patient, route=ESK, on=today()).reasons == [
        "No signed eligibility approval for Esketamine nasal spray"]


def test_decline_blocks_with_date_and_prescriber(patient):
    decision = DeclinedDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=ESK)
    reasons = route_clearance(patient=patient, route=ESK, on=today()).reasons
    day = timezone.localdate(decision.signed_at).isoformat()
    assert reasons == [f"Eligibility for Esketamine nasal spray was declined on {day} by "
                       f"{decision.signed_by.get_full_name()}"]


def test_later_decline_revokes_an_earlier_approval(patient):
    now = timezone.now()
    ApprovedDecisionFactory(patient=patient, route=ESK, evaluated_at=now - dt.timedelta(days=5),
                            signed_at=now - dt.timedelta(days=5))
    DeclinedDecisionFactory(patient=patient, route=ESK, evaluated_at=now - dt.timedelta(days=1),
                            signed_at=now - dt.timedelta(days=1))
    PatientConsentFactory(patient=patient, route=ESK)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert not clearance.ok and "declined" in clearance.reasons[0]


def test_override_needs_the_second_prescribers_cosignature(patient):
    PatientConsentFactory(patient=patient, route=ESK)
    OverrideAwaitingCosignFactory(patient=patient, route=ESK)
    assert route_clearance(patient=patient, route=ESK, on=today()).reasons == [
        "The override of an exclusion for Esketamine nasal spray awaits a second prescriber's co-signature"]
    other = PatientFactory(clinic=patient.clinic)
    CosignedOverrideFactory(patient=other, route=ESK)
    PatientConsentFactory(patient=other, route=ESK)
    assert route_clearance(patient=other, route=ESK, on=today()).ok


def test_newer_evaluation_with_an_exclusion_blocks_until_reviewed(patient):
    clear_for_route(patient, ESK)
    EligibilityDecisionFactory(patient=patient, route=ESK, evaluated_at=timezone.now(), status="not_eligible")
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert not clearance.ok
    assert "newer evaluation" in clearance.reasons[0] and "exclusion" in clearance.reasons[0]


def test_newer_unsigned_evaluation_without_exclusion_keeps_the_approval(patient):
    clear_for_route(patient, ESK)
    EligibilityDecisionFactory(patient=patient, route=ESK, evaluated_at=timezone.now(),
                               status="eligible_with_cautions")
    assert route_clearance(patient=patient, route=ESK, on=today()).ok


def test_withdrawn_consent_blocks_with_its_date(patient):
    ApprovedDecisionFactory(patient=patient, route=ESK)
    consent = PatientConsentFactory(patient=patient, route=ESK, withdrawn=True)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    day = timezone.localdate(consent.withdrawn_at).isoformat()
    assert clearance.reasons == [f"Consent to Esketamine nasal spray withdrawn on {day}"]
    assert clearance.consent is None


def test_new_consent_after_a_withdrawal_clears_again(patient):
    ApprovedDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=ESK, withdrawn=True,
                          signed_at=timezone.now() - dt.timedelta(days=3),
                          withdrawn_at=timezone.now() - dt.timedelta(days=2))
    fresh = PatientConsentFactory(patient=patient, route=ESK)  # signed yesterday, after the withdrawal
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert clearance.ok and clearance.consent == fresh


def test_consent_to_the_other_route_does_not_count(patient):
    ApprovedDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=IV)
    assert route_clearance(patient=patient, route=ESK, on=today()).reasons == [
        "No consent to Esketamine nasal spray on file"]


def test_clearance_on_a_past_date_ignores_later_records(patient):
    clear_for_route(patient, ESK)  # signed yesterday
    long_ago = today() - dt.timedelta(days=10)
    assert route_clearance(patient=patient, route=ESK, on=long_ago).reasons == [
        "No signed eligibility approval for Esketamine nasal spray", "No consent to Esketamine nasal spray on file"]


def test_withdrawal_after_the_date_still_counted_as_consent_then(patient):
    ApprovedDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=ESK, withdrawn=True)
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        assert not route_clearance(patient=patient, route=ESK, on=timezone.localdate()).ok
    yesterday = today() - dt.timedelta(days=1)
    # signed yesterday, withdrawn today: on yesterday it was current
    assert route_clearance(patient=patient, route=ESK, on=yesterday).ok


def test_unknown_route_is_refused(patient):
    with pytest.raises(UnknownRoute):
        route_clearance(patient=patient, route="oral", on=today())


def test_require_raises_with_every_reason(patient):
    with pytest.raises(RouteNotCleared) as refused:
        route_clearance_require(patient=patient, route=IV, on=today())
    assert str(refused.value) == ("No signed eligibility approval for IV ketamine; No consent to IV ketamine on "
                                  "file.")
    assert refused.value.http_status == 409
    assert refused.value.details["reasons"] == ["No signed eligibility approval for IV ketamine",
                                                "No consent to IV ketamine on file"]
    clear_for_route(patient, IV)
    assert route_clearance_require(patient=patient, route=IV, on=today()).ok


def test_an_exclusion_recorded_after_approval_blocks_until_re_evaluated(patient, nurse):
    from ketacare.screening import services
    from ketacare.screening.tests.factories import CompleteIntakeFactory

    CompleteIntakeFactory(patient=patient, updated_by=nurse)
    clear_for_route(patient, IV)
    assert route_clearance(patient=patient, route=IV, on=today()).ok
    services.intake_update(actor=nurse, patient=patient, pregnant=True)
    clearance = route_clearance(patient=patient, route=IV, on=today())
    assert clearance.reasons == ["The intake now shows an exclusion for IV ketamine that was not there when it was "
                                 "approved (Pregnancy: excluded.); evaluate again for a prescriber's decision"]
    services.intake_update(actor=nurse, patient=patient, pregnant=False)
    assert route_clearance(patient=patient, route=IV, on=today()).ok


def test_an_overridden_exclusion_does_not_block_again(patient, nurse):
    from ketacare.screening import services
    from ketacare.screening.tests.factories import CompleteIntakeFactory

    CompleteIntakeFactory(patient=patient, updated_by=nurse, hypersensitivity_ketamine=True)
    CosignedOverrideFactory(patient=patient, route=ESK)  # its findings hold esk.hypersensitivity
    PatientConsentFactory(patient=patient, route=ESK)
    assert route_clearance(patient=patient, route=ESK, on=today()).ok
    services.intake_update(actor=nurse, patient=patient, arteriovenous_malformation=True)
    assert "Arteriovenous malformation" in route_clearance(patient=patient, route=ESK, on=today()).reasons[0]


def test_query_budget(patient, django_assert_max_num_queries):
    clear_for_route(patient, ESK)
    with django_assert_max_num_queries(9):
        route_clearance(patient=patient, route=ESK, on=today())


def test_withdrawal_ends_consent_to_the_route_even_with_an_older_consent_on_file(patient):
    """Consented to v1, consented again to v2, withdrew (the v2 row): the v1 consent must not become current."""
    ApprovedDecisionFactory(patient=patient, route=ESK)
    PatientConsentFactory(patient=patient, route=ESK, signed_at=timezone.now() - dt.timedelta(days=20))
    PatientConsentFactory(patient=patient, route=ESK, signed_at=timezone.now() - dt.timedelta(days=5),
                          withdrawn=True)
    clearance = route_clearance(patient=patient, route=ESK, on=today())
    assert not clearance.ok
    assert clearance.consent is None

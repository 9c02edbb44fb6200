"""Per-clinic screening thresholds: the domain's bounds around each cited default, revisions, audit, the rules
using the clinic's values, and the clinic admin's page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core import clock
from ketacare.core.errors import PermissionDenied
from ketacare.screening import progress, selectors, services
from ketacare.screening.domain.rules import PARAM_SPECS, EligibilityParams, ParamsInvalid
from ketacare.screening.models import EligibilitySetting, RecordLocked
from tests.factories import ClinicFactory

IV = "iv-ketamine"


# --- domain (no database) ----------------------------------------------------------------------------------------


def test_every_parameter_has_a_spec_whose_range_holds_its_cited_default():
    default = EligibilityParams()
    assert set(PARAM_SPECS) == set(vars(default))
    for name, spec in PARAM_SPECS.items():
        assert spec.low <= getattr(default, name) <= spec.high, name
        assert ".md §" in spec.source, name


def test_overrides_are_validated_and_only_differences_are_kept():
    params = EligibilityParams().with_overrides({"min_age_years": 21, "trd_min_failed_trials": 2,
                                                  "benzodiazepine_caution_above_lorazepam_eq_mg_per_day": "2.5"})
    assert params.min_age_years == 21
    assert params.benzodiazepine_caution_above_lorazepam_eq_mg_per_day == Decimal("2.5")
    assert params.overrides() == {"min_age_years": 21, "benzodiazepine_caution_above_lorazepam_eq_mg_per_day": "2.5"}
    assert EligibilityParams().with_overrides(params.overrides()) == params


@pytest.mark.parametrize("overrides, field", [
    ({"min_age_years": 16}, "min_age_years"),  # below the label's adults-only floor
    ({"trd_min_failed_trials": 1}, "trd_min_failed_trials"),  # below the label's TRD definition
    ({"phq9_item9_caution_at_least": 2}, "phq9_item9_caution_at_least"),  # safety-critical, fixed
    ({"bprs_positive_item_caution_at_least": 8}, "bprs_positive_item_caution_at_least"),
    ({"min_age_years": True}, "min_age_years"),
    ({"benzodiazepine_caution_above_lorazepam_eq_mg_per_day": "lots"},
     "benzodiazepine_caution_above_lorazepam_eq_mg_per_day"),
    ({"max_dose": 1}, "max_dose"),
])
def test_a_clinic_can_be_stricter_than_a_source_floor_but_never_laxer(overrides, field):
    with pytest.raises(ParamsInvalid) as refused:
        EligibilityParams().with_overrides(overrides)
    assert list(refused.value.errors) == [field]


# --- services and selectors --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_revision_is_in_force_for_its_clinic_only_and_is_audited(admin, clinic):
    assert selectors.eligibility_params(clinic.pk) == EligibilityParams()
    services.eligibility_params_configure(actor=admin, reason="Medical director, 2026-01", min_age_years=21)
    setting = services.eligibility_params_configure(actor=admin, reason="Medical director, 2026-02",
                                                    min_age_years=21, baseline_systolic_caution_above_mmhg=150)
    assert setting.revision == 2
    assert setting.overrides == {"min_age_years": 21, "baseline_systolic_caution_above_mmhg": 150}
    assert selectors.eligibility_params(clinic.pk).baseline_systolic_caution_above_mmhg == 150
    assert selectors.eligibility_params(ClinicFactory().pk) == EligibilityParams()
    event = AuditEvent.objects.filter(action=AuditAction.PROTOCOL_CONFIGURED).latest("id")
    assert (event.actor, event.data["revision"]) == (admin, 2)
    setting.reason = "rewritten"
    with pytest.raises(RecordLocked):
        setting.save()
    with pytest.raises(RecordLocked):
        setting.delete()


@pytest.mark.django_db
def test_thresholds_need_an_admin_a_reason_and_values_within_bounds(admin, prescriber):
    with pytest.raises(PermissionDenied):
        services.eligibility_params_configure(actor=prescriber, reason="because", min_age_years=21)
    with pytest.raises(ValidationError) as refused:
        services.eligibility_params_configure(actor=admin, reason=" ", min_age_years=21)
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.eligibility_params_configure(actor=admin, reason="because", min_age_years=16)
    assert "min_age_years" in refused.value.message_dict
    assert not EligibilitySetting.objects.exists()


@pytest.mark.django_db
def test_the_rules_use_the_clinic_thresholds_and_a_change_makes_earlier_evaluations_stale(
        assessed, nurse, prescriber, admin):
    assessed.date_of_birth = dt.date(clock.today().year - 20, 1, 1)
    assessed.save()
    (before,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    assert "iv.under_minimum_age" not in {f["rule_code"] for f in before.findings}
    services.eligibility_params_configure(actor=admin, reason="Program for 21 and over", min_age_years=21)
    with pytest.raises(services.IntakeChanged):
        services.decision_sign(actor=prescriber, decision=before, outcome="approve", justification="")
    (after,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    assert after.pk != before.pk and after.status == "not_eligible"
    assert after.params["min_age_years"] == 21
    assert "iv.under_minimum_age" in {f["rule_code"] for f in after.findings}


# --- the clinic admin's page -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_page_shows_defaults_with_sources_and_saves_a_revision(client, admin, clinic):
    client.force_login(admin)
    url = reverse("screening:eligibility-settings")
    body = client.get(url).content.decode()
    assert "Default 140: esketamine-and-rems.md §6" in body
    assert "Fixed by their source" in body and 'name="phq9_item9_caution_at_least"' not in body
    values = {name: str(getattr(EligibilityParams(), name)) for name, spec in PARAM_SPECS.items() if not spec.fixed}
    response = client.post(url, {**values, "min_age_years": "16", "reason": "try"})
    assert response.status_code == 422 and not EligibilitySetting.objects.exists()
    response = client.post(url, {**values, "min_age_years": "21", "reason": "Medical director, 2026-01"})
    assert response.status_code == 302
    assert selectors.eligibility_params(clinic.pk).min_age_years == 21
    assert "revision 1" in client.get(url).content.decode()



@pytest.mark.django_db
def test_the_review_step_is_open_again_after_the_thresholds_change(assessed, nurse, admin):
    def review_state():
        return progress.intake_progress(assessed, selectors.intake_of(assessed),
                                        selectors.baseline_questionnaires(assessed)).states["review"]

    services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert review_state() == progress.DONE
    services.eligibility_params_configure(actor=admin, reason="Programme for 21 and over", min_age_years=21)
    assert review_state() == progress.STARTED

"""Eligibility API: stateless evaluation with the same rules, intake read/write, decisions, consents."""

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.accounts.roles import Role
from ketacare.screening import selectors, services
from ketacare.screening.domain.rules import RULES_BY_CODE, Route, evaluate
from ketacare.screening.domain.snapshot import facts_to_dict, result_to_dict
from ketacare.screening.models import EligibilityDecision, Intake, PatientConsent
from ketacare.screening.schemas import HistoryFacts
from ketacare.screening.tests.factories import ConsentDocumentFactory
from ketacare.screening.tests.test_domain_rules import CLEAN, CONTRAINDICATIONS, PARAMS, TODAY
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
EVALUATE = "/api/v1/eligibility/evaluate"


def api_facts(facts) -> dict:
    """Domain facts as the API takes them (weight and height with their unit)."""
    data = facts_to_dict(facts)
    weight, height = data.pop("weight_kg"), data.pop("height_cm")
    data["weight"] = None if weight is None else {"value": weight, "unit": "kg"}
    data["height"] = None if height is None else {"value": height, "unit": "cm"}
    onsets = data.pop("diagnosis_onsets")
    data["diagnosis_onsets"] = None if onsets is None else dict(onsets)  # the API takes {code: date}
    return data


def post(client, url, body, user, bearer):
    return client.post(url, json.dumps(body), content_type="application/json", headers=bearer(user))


@pytest.mark.parametrize(("route", "code", "verdict", "cited_file", "changes"), CONTRAINDICATIONS,
                         ids=[f"{row[0]}:{row[1]}" for row in CONTRAINDICATIONS])
def test_stateless_evaluation_gives_exactly_the_domain_result(client, nurse, bearer, route, code, verdict,
                                                             cited_file, changes):
    facts = replace(CLEAN, **changes)
    response = post(client, EVALUATE, {"facts": api_facts(facts), "routes": [route], "on": TODAY.isoformat()},
                    nurse, bearer)
    assert response.status_code == 200, response.json()
    (result,) = response.json()["results"]
    expected = result_to_dict(evaluate(facts, route, PARAMS, TODAY))
    assert result["status"] == expected["status"]
    assert result["findings"] == expected["findings"]
    assert code in [f["rule_code"] for f in result["findings"]]


def test_evaluate_converts_units_and_names_missing_facts(client, nurse, bearer):
    response = post(client, EVALUATE, {"facts": {"weight": {"value": "154.32", "unit": "lb"},
                                                 "height": {"value": 70, "unit": "in"}}}, nurse, bearer)
    body = response.json()
    assert response.status_code == 200
    assert body["facts"]["weight_kg"] == str(Decimal("154.32") * Decimal("0.45359237"))
    assert body["facts"]["height_cm"] == "177.80"
    assert [r["route"] for r in body["results"]] == ["iv-ketamine", "esketamine"]
    assert all(r["status"] == "incomplete" for r in body["results"])
    assert "diagnoses" in body["results"][0]["missing_facts"] and "cssrs_risk" in body["results"][0]["missing_facts"]
    assert body["ruleset_version"] == "2026.2"


@pytest.mark.parametrize(("facts", "field", "words"), [
    ({"weight": {"value": 0, "unit": "kg"}}, "facts.weight", "outside the plausible range"),
    ({"weight": {"value": 700, "unit": "kg"}}, "facts.weight", "outside the plausible range"),
    ({"weight": {"value": 70, "unit": "stone"}}, "facts.weight", "unknown weight unit"),
    ({"height": {"value": 70, "unit": "cm"}}, "facts.height", "entered in inches"),
    ({"diagnoses": ["F41.1", "Z99.99"]}, "facts.diagnoses[1]", "not in KetaCare's curated table"),
    ({"date_of_birth": "2999-01-01"}, "facts.date_of_birth", "in the future"),
    ({"phq9_item9": 7}, "facts.phq9_item9", "outside 0-3"),
    ({"diagnoses": ["I16.0"], "hypertension_uncontrolled": False}, "facts.hypertension_uncontrolled",
     "diagnosis I16.0 (Hypertensive urgency) is recorded"),
])
def test_evaluate_refuses_bad_facts_with_field_messages(client, nurse, bearer, facts, field, words):
    response = post(client, EVALUATE, {"facts": facts}, nurse, bearer)
    assert response.status_code == 422
    detail = response.json()["detail"]
    # A service names a nested field with dots; the schema (dates, core/schemas.py) with a path of keys.
    assert any(".".join(str(p) for p in d["loc"][1:] if p != "payload") == field and words in d["msg"]
               for d in detail), detail


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.sampled_from(["weight", "height", "diagnoses", "pregnant", "phq9_item9", "cssrs_risk", "systolic_mmhg",
                     "date_of_birth", "prior_trials", "benzodiazepine_lorazepam_eq_mg_per_day"]),
    st.one_of(st.none(), st.booleans(), st.integers(-5, 900), st.text(max_size=5),
              st.fixed_dictionaries({"value": st.integers(-1, 900), "unit": st.sampled_from(["kg", "lb", "cm", "in"])}),
              st.lists(st.sampled_from(["F41.1", "I67.1", "bad"]), max_size=2))))
def test_evaluate_never_crashes_on_arbitrary_input(client, nurse, bearer, facts):
    """Any input gets either a result for both routes whose every finding is a known rule with its source, or a 422
    that names a field that was sent, with a message; never a 500, never a finding from nowhere."""
    response = post(client, EVALUATE, {"facts": facts}, nurse, bearer)
    assert response.status_code in (200, 422), response.content
    body = response.json()
    if response.status_code == 422:
        assert body["detail"], body
        for problem in body["detail"]:
            assert problem["msg"].strip() and "Traceback" not in problem["msg"]
            named = {str(part).split("[")[0].removeprefix("facts.") for part in problem["loc"][1:]}  # "facts.weight"
            assert problem["loc"][0] == "body" and named & (set(facts) | {"facts"}), problem
        return
    assert {result["route"] for result in body["results"]} == {"esketamine", "iv-ketamine"}
    for result in body["results"]:
        assert result["status"] in {"eligible", "not_eligible", "needs_review", "incomplete"}, result["status"]
        for finding in result["findings"]:
            assert finding["rule_code"] in RULES_BY_CODE, finding
            assert finding["citation"].startswith("docs/domain/") and finding["message"].strip()


def test_front_desk_cannot_evaluate(client, clinic, bearer):
    frontdesk = UserFactory(role=Role.FRONT_DESK, clinic=clinic)
    assert post(client, EVALUATE, {"facts": {}}, frontdesk, bearer).status_code == 403


# --- intake ---------------------------------------------------------------------------------------------------------

INTAKE = {
    "referring_clinician": "Dr Abbott", "referral_reason": "Social anxiety and TRD",
    "referral_received_on": "2026-01-05",
    "psychosis_history": False, "pregnant": False, "hypertension": True,
    "weight": {"value": "165", "unit": "lb"}, "height": {"value": "68", "unit": "in"}, "measured_on": "2026-01-05",
    "systolic_mmhg": 132, "diastolic_mmhg": 84, "heart_rate_bpm": 70, "vitals_taken_at": "2026-01-05T09:30:00Z",
    "diagnoses": [{"code": "f33.1"}, {"code": "F40.10", "note": "since adolescence"}],
    "medications": [{"name": "clonazepam", "is_benzodiazepine": True, "lorazepam_eq_mg_per_day": "1"}],
    "trials": None,
}


def intake_url(patient):
    return f"/api/v1/patients/{patient.pk}/intake"


def test_intake_put_then_get_round_trips_in_si(client, patient, nurse, bearer):
    response = client.put(intake_url(patient), json.dumps(INTAKE), content_type="application/json",
                          headers=bearer(nurse))
    assert response.status_code == 200, response.json()
    body = client.get(intake_url(patient), headers=bearer(nurse)).json()
    assert body["weight"] == {"value": "165.00", "unit": "lb"}
    assert Decimal(body["weight_kg"]) == Decimal("165") * Decimal("0.45359237")
    assert Decimal(body["height_cm"]) == Decimal("172.72")
    assert [d["code"] for d in body["diagnoses"]] == ["F33.1", "F40.10"]
    assert body["diagnoses"][1]["title"] == "Social phobia, unspecified"
    assert body["medications"][0]["is_benzodiazepine"] is True and body["trials"] is None
    assert body["hypertension"] is True and body["psychosis_history"] is False
    assert body["steps"]["diagnoses"] == "done" and body["steps"]["trials"] == "todo"
    intake = Intake.objects.get()
    assert (intake.diagnoses_complete, intake.medications_complete, intake.trials_complete) == (True, True, False)


def test_intake_put_replaces_lists(client, patient, nurse, bearer):
    client.put(intake_url(patient), json.dumps(INTAKE), content_type="application/json", headers=bearer(nurse))
    changed = {**INTAKE, "diagnoses": [{"code": "F41.1"}], "medications": []}
    client.put(intake_url(patient), json.dumps(changed), content_type="application/json", headers=bearer(nurse))
    body = client.get(intake_url(patient), headers=bearer(nurse)).json()
    assert [d["code"] for d in body["diagnoses"]] == ["F41.1"] and body["medications"] == []


@pytest.mark.parametrize(("change", "field"), [
    ({"weight": {"value": 0, "unit": "kg"}}, "weight"),
    ({"weight": {"value": 700, "unit": "kg"}}, "weight"),
    ({"height": {"value": 70, "unit": "cm"}}, "height"),
    ({"referral_received_on": "2999-01-01"}, "referral_received_on"),
    ({"vitals_taken_at": "2999-01-01T00:00:00Z"}, "vitals_taken_at"),
    ({"diagnoses": [{"code": "Z99.99"}]}, "diagnoses[0].code"),
    ({"diagnoses": [{"code": "I67.1"}], "aneurysmal_vascular_disease": False}, "aneurysmal_vascular_disease"),
    # a hypertensive crisis code with "uncontrolled: no" (issue 13 point 2)
    ({"diagnoses": [{"code": "I16.1"}], "hypertension": True, "hypertension_uncontrolled": False},
     "hypertension_uncontrolled"),
    ({"medications": [{"name": "sertraline", "lorazepam_eq_mg_per_day": "2"}]},
     "medications[0].lorazepam_eq_mg_per_day"),
])
def test_intake_put_refuses_bad_input_and_stores_nothing(client, patient, nurse, bearer, change, field):
    response = client.put(intake_url(patient), json.dumps({**INTAKE, **change}), content_type="application/json",
                          headers=bearer(nurse))
    assert response.status_code == 422
    assert ["body", field] in [d["loc"] for d in response.json()["detail"]], response.json()
    assert not Intake.objects.exists()


def test_intake_of_a_patient_without_one_reads_as_empty(client, patient, nurse, bearer):
    body = client.get(intake_url(patient), headers=bearer(nurse)).json()
    assert body["diagnoses"] is None and body["weight"] is None and body["referring_clinician"] == ""
    assert set(body["steps"].values()) == {"todo"}


# --- decisions ------------------------------------------------------------------------------------------------------


def decisions_url(patient):
    return f"/api/v1/patients/{patient.pk}/eligibility-decisions"


def test_prescriber_evaluates_and_signs_in_one_call(client, assessed, prescriber, nurse, bearer):
    response = post(client, decisions_url(assessed), {"route": "esketamine", "outcome": "approve"}, prescriber,
                    bearer)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "eligible" and body["outcome"] == "approve" and body["in_effect"] is True
    assert body["signed_by"] == "Priya Raman" and body["ruleset_version"] == "2026.2"
    assert body["facts"]["diagnoses"] == ["F33.1", "F40.10"]
    listed = client.get(decisions_url(assessed), headers=bearer(nurse)).json()
    assert [d["id"] for d in listed] == [body["id"]]


def test_a_refused_signature_stores_no_evaluation(client, assessed, prescriber, nurse, bearer):
    services.intake_update(actor=nurse, patient=assessed, hypersensitivity_ketamine=True)
    response = post(client, decisions_url(assessed), {"route": "iv-ketamine", "outcome": "approve"}, prescriber,
                    bearer)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "outcome"]
    assert not EligibilityDecision.objects.exists()
    assert post(client, decisions_url(assessed), {"outcome": "approve"}, prescriber, bearer).status_code == 422


def test_override_and_cosign_through_the_api(client, assessed, prescriber, prescriber2, nurse, bearer):
    services.intake_update(actor=nurse, patient=assessed, intracerebral_hemorrhage_history=True)
    response = post(client, decisions_url(assessed), {"route": "esketamine", "outcome": "override",
                                                      "justification": "Remote traumatic bleed; neurology agrees."},
                    prescriber, bearer)
    decision = response.json()
    assert response.status_code == 201 and decision["in_effect"] is False
    cosign = f"{decisions_url(assessed)}/{decision['id']}/cosign"
    assert post(client, cosign, {}, prescriber, bearer).status_code == 422
    response = post(client, cosign, {}, prescriber2, bearer)
    assert response.status_code == 200 and response.json()["in_effect"] is True
    assert response.json()["cosigned_by"] == "Sam Second"
    assert post(client, cosign, {}, prescriber2, bearer).json()["code"] == "not_awaiting_cosign"


def test_nurse_cannot_sign_through_the_api(client, assessed, nurse, bearer):
    assert post(client, decisions_url(assessed), {"route": "esketamine", "outcome": "approve"}, nurse,
                bearer).status_code == 403


# --- consents ---------------------------------------------------------------------------------------------------------


def test_consent_capture_listing_and_withdrawal(client, patient, nurse, bearer):
    ConsentDocumentFactory(clinic=patient.clinic, route="iv-ketamine", version="1.2")
    url = f"/api/v1/patients/{patient.pk}/consents"
    refused = post(client, url, {"route": "iv-ketamine", "typed_name": "Somebody", "witness_id": nurse.pk}, nurse,
                   bearer)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "typed_name"]
    response = post(client, url, {"route": "iv-ketamine", "typed_name": "Ximena Quintero", "witness_id": nurse.pk},
                    nurse, bearer)
    assert response.status_code == 201, response.json()
    consent = response.json()
    assert consent["document_version"] == "1.2" and consent["current"] is True and consent["witness"] == "Noah Okafor"
    withdraw = f"/api/v1/consents/{consent['id']}/withdraw"
    assert post(client, withdraw, {}, nurse, bearer).status_code == 422
    response = post(client, withdraw, {"reason": "Withdrew by phone."}, nurse, bearer)
    assert response.status_code == 200 and response.json()["current"] is False
    assert post(client, withdraw, {"reason": "again"}, nurse, bearer).status_code == 409
    listed = client.get(url, headers=bearer(nurse)).json()
    assert [c["withdrawal_reason"] for c in listed] == ["Withdrew by phone."]
    assert PatientConsent.objects.count() == 1


def test_consent_routes_of_another_clinic_are_404(client, foreign_patient, nurse, bearer):
    from ketacare.screening.tests.factories import PatientConsentFactory

    consent = PatientConsentFactory(patient=foreign_patient)
    assert post(client, f"/api/v1/consents/{consent.pk}/withdraw", {"reason": "x"}, nurse, bearer).status_code == 404
    assert client.get(f"/api/v1/patients/{foreign_patient.pk}/consents", headers=bearer(nurse)).status_code == 404


def test_route_values_match_the_domain():
    assert {r.value for r in Route} == {"iv-ketamine", "esketamine"}


def test_the_api_history_facts_are_the_intake_history_facts():
    assert tuple(HistoryFacts.model_fields) == selectors.BOOL_FACT_FIELDS

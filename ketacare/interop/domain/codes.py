"""The codes the FHIR mapping uses, each from docs/domain/fhir-mapping.md (LOINC, UCUM, SNOMED CT, HL7 systems).

Instruments without a LOINC code (LSAS, SPIN, C-SSRS, CADSS, MOAA/S ...) use KetaCare's local code system, as
fhir-mapping.md §3 advises.
"""

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
LOCAL_SCORES = "https://ketacare.org/fhir/CodeSystem/instrument-scores"
LOCAL_ALERTS = "https://ketacare.org/fhir/CodeSystem/safety-alerts"
LOCAL_MEDICATIONS = "https://ketacare.org/fhir/CodeSystem/medications"
QUESTIONNAIRE_BASE = "https://ketacare.org/fhir/Questionnaire"
MRN_SYSTEM = "urn:ketacare:clinic:{clinic_id}:mrn"

# Vital signs (fhir-mapping.md §2): (LOINC code, display, UCUM unit, profile).
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional", "", "bp")
SYSTOLIC = ("8480-6", "Systolic blood pressure", "mm[Hg]", "")
DIASTOLIC = ("8462-4", "Diastolic blood pressure", "mm[Hg]", "")
HEART_RATE = ("8867-4", "Heart rate", "/min", "heartrate")
RESP_RATE = ("9279-1", "Respiratory rate", "/min", "resprate")
OXYGEN_SAT = ("2708-6", "Oxygen saturation in Arterial blood", "%", "oxygensat")
PULSE_OXIMETRY = "59408-5"  # US Core Pulse Oximetry codes it beside 2708-6 (fhir-mapping.md §2)
PROFILE_BASE = "http://hl7.org/fhir/StructureDefinition/"

# Questionnaire totals: the instrument definition's own total code (LOINC where one exists, fhir-mapping.md §3);
# instruments without one get `<key>-total` in LOCAL_SCORES.

# Routes (fhir-mapping.md §1, SNOMED CT).
ROUTE_SNOMED = {"iv": ("47625008", "Intravenous route"), "intranasal": ("46713006", "Nasal route")}

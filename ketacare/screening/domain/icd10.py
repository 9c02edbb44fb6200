"""A small curated table of ICD-10-CM diagnosis codes used by this clinic's intake, with format validation.

Source: docs/domain/fhir-mapping.md (Condition row: ICD-10-CM, e.g. F40.10, F40.11, F41.1, F32.x/F33.x, R45.851;
codes tagged [U] there) and the conditions named by docs/domain/esketamine-and-rems.md §4-§5 and
docs/domain/iv-ketamine.md §7. Titles are the ICD-10-CM short descriptions as we know them, paraphrased where
long. Codes whose exact validity in the current (FY2026) code set is uncertain are marked "[U]" in a comment;
the aortic-aneurysm codes I71.2x/I71.4x/I71.6x (FY2023 expansion) were checked against a public code list.
Verify the whole table against the CMS FY release before production use.

Each code carries categories; screening rules use categories, never individual codes. Codes outside the table are
refused (not silently accepted) so an unknown diagnosis cannot bypass a contraindication rule: extend the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ketacare.screening.domain.units import FactError

# Letter, digit, digit-or-letter; then optionally a dot and 1-4 characters (e.g. F32.A, I71.20, R45.851).
CODE_FORMAT = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


class Category(StrEnum):
    MDD = "mdd"
    DEPRESSION_OTHER = "depression_other"
    BIPOLAR = "bipolar"  # mania or bipolar disorder, lifetime
    PSYCHOSIS = "psychosis"
    SUBSTANCE_USE = "substance_use"
    SOCIAL_ANXIETY = "social_anxiety"
    GENERALIZED_ANXIETY = "generalized_anxiety"
    PANIC = "panic"
    ANXIETY_OTHER = "anxiety_other"
    PTSD = "ptsd"
    OCD = "ocd"
    HYPERTENSION = "hypertension"
    HYPERTENSIVE_CRISIS = "hypertensive_crisis"  # urgency or emergency: uncontrolled hypertension
    ANEURYSM = "aneurysm"
    AVM = "avm"
    INTRACEREBRAL_HEMORRHAGE = "intracerebral_hemorrhage"
    RAISED_ICP = "raised_icp"
    CARDIOVASCULAR = "cardiovascular"
    CEREBROVASCULAR = "cerebrovascular"
    # Cardiovascular and cerebrovascular *events*: with an onset date inside the clinic's recency window they are
    # unstable disease (iv-ketamine.md §7; esketamine-and-rems.md §4), older ones stay a caution.
    MYOCARDIAL_INFARCTION = "myocardial_infarction"
    STROKE_OR_TIA = "stroke_or_tia"
    UNSTABLE_ANGINA = "unstable_angina"
    DECOMPENSATED_HEART_FAILURE = "decompensated_heart_failure"
    SIGNIFICANT_ARRHYTHMIA = "significant_arrhythmia"
    HEPATIC = "hepatic"
    CYSTITIS = "cystitis"  # interstitial or ulcerative (Hunner lesion) cystitis, an esketamine warning
    PREGNANCY = "pregnancy"
    LACTATION = "lactation"
    SUICIDALITY = "suicidality"
    OTHER = "other"


@dataclass(frozen=True)
class Icd10Code:
    code: str
    title: str
    categories: frozenset[Category]


C = Category
_ROWS: tuple[tuple[str, str, tuple[Category, ...]], ...] = (
    # Anxiety, obsessive-compulsive and trauma-related disorders
    ("F40.10", "Social phobia, unspecified", (C.SOCIAL_ANXIETY,)),
    ("F40.11", "Social phobia, generalized", (C.SOCIAL_ANXIETY,)),
    ("F41.0", "Panic disorder [episodic paroxysmal anxiety]", (C.PANIC,)),
    ("F41.1", "Generalized anxiety disorder", (C.GENERALIZED_ANXIETY,)),
    ("F41.8", "Other specified anxiety disorders", (C.ANXIETY_OTHER,)),
    ("F41.9", "Anxiety disorder, unspecified", (C.ANXIETY_OTHER,)),
    ("F42.2", "Mixed obsessional thoughts and acts", (C.OCD,)),
    ("F42.9", "Obsessive-compulsive disorder, unspecified", (C.OCD,)),
    ("F43.10", "Post-traumatic stress disorder, unspecified", (C.PTSD,)),
    ("F43.11", "Post-traumatic stress disorder, acute", (C.PTSD,)),
    ("F43.12", "Post-traumatic stress disorder, chronic", (C.PTSD,)),
    ("F43.20", "Adjustment disorder, unspecified", (C.OTHER,)),
    ("F43.23", "Adjustment disorder with mixed anxiety and depressed mood", (C.OTHER,)),
    # Major depressive disorder (the esketamine label's indication is MDD)
    ("F32.0", "Major depressive disorder, single episode, mild", (C.MDD,)),
    ("F32.1", "Major depressive disorder, single episode, moderate", (C.MDD,)),
    ("F32.2", "Major depressive disorder, single episode, severe without psychotic features", (C.MDD,)),
    ("F32.3", "Major depressive disorder, single episode, severe with psychotic features", (C.MDD, C.PSYCHOSIS)),
    ("F32.4", "Major depressive disorder, single episode, in partial remission", (C.MDD,)),
    ("F32.5", "Major depressive disorder, single episode, in full remission", (C.MDD,)),
    ("F32.9", "Major depressive disorder, single episode, unspecified", (C.MDD,)),
    ("F32.A", "Depression, unspecified", (C.DEPRESSION_OTHER,)),  # added FY2022; not specific to MDD
    ("F33.0", "Major depressive disorder, recurrent, mild", (C.MDD,)),
    ("F33.1", "Major depressive disorder, recurrent, moderate", (C.MDD,)),
    ("F33.2", "Major depressive disorder, recurrent severe without psychotic features", (C.MDD,)),
    ("F33.3", "Major depressive disorder, recurrent, severe with psychotic symptoms", (C.MDD, C.PSYCHOSIS)),
    ("F33.40", "Major depressive disorder, recurrent, in remission, unspecified", (C.MDD,)),
    ("F33.41", "Major depressive disorder, recurrent, in partial remission", (C.MDD,)),
    ("F33.42", "Major depressive disorder, recurrent, in full remission", (C.MDD,)),
    ("F33.8", "Other recurrent depressive disorders", (C.DEPRESSION_OTHER,)),
    ("F33.9", "Major depressive disorder, recurrent, unspecified", (C.MDD,)),
    ("F34.1", "Dysthymic disorder", (C.DEPRESSION_OTHER,)),
    # Mania and bipolar disorder
    ("F30.9", "Manic episode, unspecified", (C.BIPOLAR,)),
    ("F31.0", "Bipolar disorder, current episode hypomanic", (C.BIPOLAR,)),
    ("F31.10", "Bipolar disorder, current episode manic without psychotic features, unspecified", (C.BIPOLAR,)),
    ("F31.2", "Bipolar disorder, current episode manic severe with psychotic features", (C.BIPOLAR, C.PSYCHOSIS)),
    ("F31.30", "Bipolar disorder, current episode depressed, mild or moderate severity, unspecified", (C.BIPOLAR,)),
    ("F31.31", "Bipolar disorder, current episode depressed, mild", (C.BIPOLAR,)),
    ("F31.32", "Bipolar disorder, current episode depressed, moderate", (C.BIPOLAR,)),
    ("F31.4", "Bipolar disorder, current episode depressed, severe, without psychotic features", (C.BIPOLAR,)),
    ("F31.5", "Bipolar disorder, current episode depressed, severe, with psychotic features", (C.BIPOLAR, C.PSYCHOSIS)),
    ("F31.70", "Bipolar disorder, currently in remission, most recent episode unspecified", (C.BIPOLAR,)),
    ("F31.81", "Bipolar II disorder", (C.BIPOLAR,)),
    ("F31.9", "Bipolar disorder, unspecified", (C.BIPOLAR,)),
    # Schizophrenia spectrum and other psychotic disorders (F20-F29)
    ("F20.0", "Paranoid schizophrenia", (C.PSYCHOSIS,)),
    ("F20.81", "Schizophreniform disorder", (C.PSYCHOSIS,)),
    ("F20.9", "Schizophrenia, unspecified", (C.PSYCHOSIS,)),
    ("F21", "Schizotypal disorder", (C.PSYCHOSIS,)),
    ("F22", "Delusional disorders", (C.PSYCHOSIS,)),
    ("F23", "Brief psychotic disorder", (C.PSYCHOSIS,)),
    ("F25.0", "Schizoaffective disorder, bipolar type", (C.PSYCHOSIS, C.BIPOLAR)),
    ("F25.1", "Schizoaffective disorder, depressive type", (C.PSYCHOSIS,)),
    ("F25.9", "Schizoaffective disorder, unspecified", (C.PSYCHOSIS,)),
    ("F28", "Other psychotic disorder not due to a substance or known physiological condition", (C.PSYCHOSIS,)),
    ("F29", "Unspecified psychosis not due to a substance or known physiological condition", (C.PSYCHOSIS,)),
    # Substance use disorders (F10-F19). Nicotine (F17) is deliberately absent: it is not what the ketamine
    # sources mean by substance use. Ketamine and PCP use disorders are coded under F16 (other hallucinogens) [U].
    ("F10.10", "Alcohol abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F10.20", "Alcohol dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F10.21", "Alcohol dependence, in remission", (C.SUBSTANCE_USE,)),
    ("F11.10", "Opioid abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F11.20", "Opioid dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F11.21", "Opioid dependence, in remission", (C.SUBSTANCE_USE,)),
    ("F12.10", "Cannabis abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F12.20", "Cannabis dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F13.20", "Sedative, hypnotic or anxiolytic dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F14.10", "Cocaine abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F14.20", "Cocaine dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F15.10", "Other stimulant abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F15.20", "Other stimulant dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F16.10", "Hallucinogen abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F16.20", "Hallucinogen dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F16.21", "Hallucinogen dependence, in remission", (C.SUBSTANCE_USE,)),
    ("F19.10", "Other psychoactive substance abuse, uncomplicated", (C.SUBSTANCE_USE,)),
    ("F19.20", "Other psychoactive substance dependence, uncomplicated", (C.SUBSTANCE_USE,)),
    # Other psychiatric comorbidities
    ("F60.3", "Borderline personality disorder", (C.OTHER,)),
    ("F90.0", "Attention-deficit hyperactivity disorder, predominantly inattentive type", (C.OTHER,)),
    ("F90.9", "Attention-deficit hyperactivity disorder, unspecified type", (C.OTHER,)),
    ("F79", "Unspecified intellectual disabilities", (C.OTHER,)),
    ("R45.851", "Suicidal ideations", (C.SUICIDALITY,)),
    ("Z91.51", "Personal history of suicidal behavior", (C.SUICIDALITY,)),  # Z91.5 was split in FY2022
    # Hypertension
    ("I10", "Essential (primary) hypertension", (C.HYPERTENSION,)),
    ("I11.9", "Hypertensive heart disease without heart failure", (C.HYPERTENSION, C.CARDIOVASCULAR)),
    # Hypertensive crisis (I16.x, added FY2019 [U]): uncontrolled hypertension whatever the checkbox says
    ("I16.0", "Hypertensive urgency", (C.HYPERTENSION, C.HYPERTENSIVE_CRISIS)),
    ("I16.1", "Hypertensive emergency", (C.HYPERTENSION, C.HYPERTENSIVE_CRISIS)),
    ("I16.9", "Hypertensive crisis, unspecified", (C.HYPERTENSION, C.HYPERTENSIVE_CRISIS)),
    # Aneurysmal vascular disease (esketamine label: aorta, intracranial and peripheral arteries)
    ("I67.1", "Cerebral aneurysm, nonruptured", (C.ANEURYSM,)),
    ("I71.20", "Thoracic aortic aneurysm, without rupture, unspecified", (C.ANEURYSM,)),
    ("I71.21", "Aneurysm of the ascending aorta, without rupture", (C.ANEURYSM,)),
    ("I71.22", "Aneurysm of the aortic arch, without rupture", (C.ANEURYSM,)),
    ("I71.23", "Aneurysm of the descending thoracic aorta, without rupture", (C.ANEURYSM,)),
    ("I71.40", "Abdominal aortic aneurysm, without rupture, unspecified", (C.ANEURYSM,)),
    ("I71.41", "Pararenal abdominal aortic aneurysm, without rupture", (C.ANEURYSM,)),
    ("I71.42", "Juxtarenal abdominal aortic aneurysm, without rupture", (C.ANEURYSM,)),
    ("I71.43", "Infrarenal abdominal aortic aneurysm, without rupture", (C.ANEURYSM,)),
    ("I71.60", "Thoracoabdominal aortic aneurysm, without rupture, unspecified", (C.ANEURYSM,)),
    ("I71.9", "Aortic aneurysm of unspecified site, without rupture", (C.ANEURYSM,)),
    ("I72.0", "Aneurysm of carotid artery", (C.ANEURYSM,)),
    ("I72.1", "Aneurysm of artery of upper extremity", (C.ANEURYSM,)),
    ("I72.2", "Aneurysm of renal artery", (C.ANEURYSM,)),
    ("I72.3", "Aneurysm of iliac artery", (C.ANEURYSM,)),
    ("I72.4", "Aneurysm of artery of lower extremity", (C.ANEURYSM,)),
    ("I72.5", "Aneurysm of other precerebral arteries", (C.ANEURYSM,)),
    ("I72.6", "Aneurysm of vertebral artery", (C.ANEURYSM,)),
    ("I72.8", "Aneurysm of other specified arteries", (C.ANEURYSM,)),
    ("I72.9", "Aneurysm of unspecified site", (C.ANEURYSM,)),
    # Arteriovenous malformation
    ("Q28.0", "Arteriovenous malformation of precerebral vessels", (C.AVM,)),
    ("Q28.2", "Arteriovenous malformation of cerebral vessels", (C.AVM,)),
    ("Q27.30", "Arteriovenous malformation, site unspecified", (C.AVM,)),  # [U] Q27.3x added FY2019
    # Intracerebral haemorrhage (history of) and other cerebrovascular disease
    ("I61.0", "Nontraumatic intracerebral hemorrhage in hemisphere, subcortical", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.1", "Nontraumatic intracerebral hemorrhage in hemisphere, cortical", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.2", "Nontraumatic intracerebral hemorrhage in hemisphere, unspecified", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.3", "Nontraumatic intracerebral hemorrhage in brain stem", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.4", "Nontraumatic intracerebral hemorrhage in cerebellum", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.5", "Nontraumatic intracerebral hemorrhage, intraventricular", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.6", "Nontraumatic intracerebral hemorrhage, multiple localized", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.8", "Other nontraumatic intracerebral hemorrhage", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I61.9", "Nontraumatic intracerebral hemorrhage, unspecified", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I69.10", "Unspecified sequelae of nontraumatic intracerebral hemorrhage", (C.INTRACEREBRAL_HEMORRHAGE,)),
    ("I60.9", "Nontraumatic subarachnoid hemorrhage, unspecified", (C.CEREBROVASCULAR, C.STROKE_OR_TIA)),
    ("I63.9", "Cerebral infarction, unspecified", (C.CEREBROVASCULAR, C.STROKE_OR_TIA)),
    ("I67.9", "Cerebrovascular disease, unspecified", (C.CEREBROVASCULAR,)),
    ("G45.9", "Transient cerebral ischemic attack, unspecified", (C.CEREBROVASCULAR, C.STROKE_OR_TIA)),
    ("Z86.73", "Personal history of TIA and cerebral infarction without residual deficits", (C.CEREBROVASCULAR,)),
    # Raised intracranial pressure
    ("G93.2", "Benign intracranial hypertension", (C.RAISED_ICP,)),
    ("G93.6", "Cerebral edema", (C.RAISED_ICP,)),
    # Cardiovascular disease
    ("I20.0", "Unstable angina", (C.CARDIOVASCULAR, C.UNSTABLE_ANGINA)),
    ("I20.9", "Angina pectoris, unspecified", (C.CARDIOVASCULAR,)),
    ("I21.3", "ST elevation (STEMI) myocardial infarction of unspecified site", (C.CARDIOVASCULAR,
                                                                               C.MYOCARDIAL_INFARCTION)),
    ("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction", (C.CARDIOVASCULAR, C.MYOCARDIAL_INFARCTION)),
    ("I21.9", "Acute myocardial infarction, unspecified", (C.CARDIOVASCULAR, C.MYOCARDIAL_INFARCTION)),
    ("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris", (C.CARDIOVASCULAR,)),
    ("I25.2", "Old myocardial infarction", (C.CARDIOVASCULAR,)),
    ("I44.2", "Atrioventricular block, complete", (C.CARDIOVASCULAR, C.SIGNIFICANT_ARRHYTHMIA)),
    ("I47.20", "Ventricular tachycardia, unspecified", (C.CARDIOVASCULAR, C.SIGNIFICANT_ARRHYTHMIA)),  # [U] FY2023
    ("I48.91", "Unspecified atrial fibrillation", (C.CARDIOVASCULAR,)),
    ("I49.01", "Ventricular fibrillation", (C.CARDIOVASCULAR, C.SIGNIFICANT_ARRHYTHMIA)),
    ("I49.9", "Cardiac arrhythmia, unspecified", (C.CARDIOVASCULAR,)),
    ("I50.21", "Acute systolic (congestive) heart failure", (C.CARDIOVASCULAR, C.DECOMPENSATED_HEART_FAILURE)),
    ("I50.23", "Acute on chronic systolic (congestive) heart failure", (C.CARDIOVASCULAR,
                                                                       C.DECOMPENSATED_HEART_FAILURE)),
    ("I50.31", "Acute diastolic (congestive) heart failure", (C.CARDIOVASCULAR, C.DECOMPENSATED_HEART_FAILURE)),
    ("I50.33", "Acute on chronic diastolic (congestive) heart failure", (C.CARDIOVASCULAR,
                                                                        C.DECOMPENSATED_HEART_FAILURE)),
    ("I50.9", "Heart failure, unspecified", (C.CARDIOVASCULAR,)),
    # Hepatic disease
    ("B18.2", "Chronic viral hepatitis C", (C.HEPATIC,)),
    ("K70.30", "Alcoholic cirrhosis of liver without ascites", (C.HEPATIC,)),
    ("K72.90", "Hepatic failure, unspecified without coma", (C.HEPATIC,)),
    ("K74.60", "Unspecified cirrhosis of liver", (C.HEPATIC,)),
    ("K75.9", "Inflammatory liver disease, unspecified", (C.HEPATIC,)),
    ("K76.0", "Fatty (change of) liver, not elsewhere classified", (C.HEPATIC,)),
    # Pregnancy and lactation
    ("Z33.1", "Pregnant state, incidental", (C.PREGNANCY,)),
    ("Z39.1", "Encounter for care and examination of lactating mother", (C.LACTATION,)),
    # Other comorbidities seen in this population
    ("E66.9", "Obesity, unspecified", (C.OTHER,)),
    ("G47.00", "Insomnia, unspecified", (C.OTHER,)),
    ("G89.29", "Other chronic pain", (C.OTHER,)),
    ("N30.10", "Interstitial cystitis (chronic) without hematuria", (C.CYSTITIS,)),
    ("N30.11", "Interstitial cystitis (chronic) with hematuria", (C.CYSTITIS,)),
)

CV_EVENT_CATEGORIES: frozenset[Category] = frozenset({
    Category.MYOCARDIAL_INFARCTION, Category.STROKE_OR_TIA, Category.UNSTABLE_ANGINA,
    Category.DECOMPENSATED_HEART_FAILURE, Category.SIGNIFICANT_ARRHYTHMIA,
})
CV_EVENT_LABELS: dict[Category, str] = {
    Category.MYOCARDIAL_INFARCTION: "myocardial infarction",
    Category.STROKE_OR_TIA: "stroke or TIA",
    Category.UNSTABLE_ANGINA: "unstable angina",
    Category.DECOMPENSATED_HEART_FAILURE: "decompensated heart failure",
    Category.SIGNIFICANT_ARRHYTHMIA: "significant arrhythmia",
}

TABLE: dict[str, Icd10Code] = {code: Icd10Code(code, title, frozenset(cats)) for code, title, cats in _ROWS}


def normalize(code: str, *, field: str = "diagnoses") -> str:
    """Upper-case, strip, and insert the dot after the third character if it was left out (F4010 -> F40.10)."""
    text = code.strip().upper()
    if "." not in text and len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    if not CODE_FORMAT.fullmatch(text):
        raise FactError(field, f"{code!r} is not an ICD-10-CM code (expected a form like F41.1 or R45.851)")
    return text


def lookup(code: str, *, field: str = "diagnoses") -> Icd10Code:
    """The table entry for a code; a well-formed code that is not in the curated table is refused."""
    normalized = normalize(code, field=field)
    try:
        return TABLE[normalized]
    except KeyError:
        raise FactError(
            field, f"ICD-10-CM code {normalized} is not in KetaCare's curated table; ask for it to be added"
        ) from None


def categories_of(codes: tuple[str, ...]) -> frozenset[Category]:
    """All categories of the given codes (each must be in the table)."""
    return frozenset(category for code in codes for category in lookup(code).categories)

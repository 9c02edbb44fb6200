"""What each shipped safety rule tells the clinician: the finding and the action the cited source suggests.

Source: docs/domain/instruments.md §1.3 (PHQ-9 item 9: same-day suicide-risk assessment; 2-3 before any
dosing/discharge), §1.2 and §13.4 (missing safety item: prompt, never 0), §6.2-6.3 (C-SSRS actions per level),
§7 (CADSS > 4 and change > 0), §8 (MOAA/S <= 3 clinician at bedside and SpO2, <= 1 emergency response),
§9 (BPRS+ item >= 4 or rise >= 3). Actions are clinic policy: the wording suggests, it never decides.

Messages never contain patient identity: they appear in banners and lists.
"""

from decimal import Decimal
from functools import cache

from ketacare.instruments.domain.registry import load_all_versions

RULE_MESSAGES: dict[str, str] = {
    "phq9.item9_positive": "PHQ-9 item 9 (thoughts of self-harm) scored {threshold} or higher (0 = \"Not at all\"): "
    "same-day suicide-risk assessment (e.g. C-SSRS) by a clinician; no dosing or discharge until assessed.",
    "phq9.item9_unanswered": "PHQ-9 item 9 (thoughts of self-harm) was not answered: unknown is not \"no\"; "
    "ask the patient and assess suicide risk.",
    "cssrs.high_risk": "C-SSRS screen HIGH risk: immediate clinician evaluation, patient-safety precautions "
    "(do not leave alone); do not dose or discharge until evaluated; emergency pathway per clinic policy.",
    "cssrs.moderate_risk": "C-SSRS screen MODERATE risk: behavioural-health consultation the same day; consider "
    "safety precautions and a safety plan.",
    "cssrs.low_risk": "C-SSRS screen LOW risk: behavioural-health follow-up, safety plan and crisis resources.",
    "cssrs.incomplete": "C-SSRS screen incomplete: the risk level is unknown until every asked question is answered.",
    "cssrs.answered_when_skipped": "C-SSRS screen: a question the skip logic hides was answered \"yes\"; "
    "check the answers with the patient.",
    "moaas.sedation": "MOAA/S {threshold} or lower (moderate or greater sedation): clinician at the bedside, "
    "continuous SpO2.",
    "moaas.emergency": "MOAA/S {threshold} or lower: emergency response.",
    "moaas.unanswered": "MOAA/S not recorded: rate sedation now.",
    "bprs.item_moderate": "BPRS+ item rated {threshold} or higher (4 = moderate): clinician review of psychotic "
    "symptoms.",
    "bprs.rise": "BPRS+ total rose by {threshold} or more from the pre-dose rating: clinician review.",
    "bprs.incomplete": "BPRS+ incomplete: rate every item.",
    "cadss.dissociation": "CADSS total above {threshold} (dissociation): monitor until it resolves before discharge.",
}


def rule_message(instrument_title: str, code: str, threshold: Decimal | int | None = None) -> str:
    """The clinician-facing message of a rule, naming the threshold in force (the clinic's, or the shipped
    definition's cited default when `threshold` is None); an imported or unknown rule names its code."""
    template = RULE_MESSAGES.get(code)
    if template is None:
        return f"{instrument_title}: safety rule {code} fired."
    if threshold is None:
        threshold = _default_thresholds().get(code)
    return template.format(threshold=threshold)


@cache
def _default_thresholds() -> dict[str, Decimal | None]:
    return {rule.code: rule.threshold for versions in load_all_versions().values()
            for rule in list(versions.values())[-1].safety_rules}

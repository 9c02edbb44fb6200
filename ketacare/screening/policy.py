"""The screening values the domain files give no number for (core/policy.py): clinic policy to be confirmed."""

from ketacare.core.policy import PolicyValue, register
from ketacare.screening.domain.rules import NO_PUBLISHED_NUMBER, PARAM_SPECS, EligibilityParams


def register_placeholders() -> None:
    default = EligibilityParams()
    register(*[PolicyValue(f"screening.{name}", PARAM_SPECS[name].label, str(getattr(default, name)),
                           "screening:eligibility-settings", PARAM_SPECS[name].source, order=10)
               for name in sorted(NO_PUBLISHED_NUMBER)])
    register(PolicyValue("screening.hepatic_disease", "Liver disease: recorded at intake, no eligibility rule",
                         "no rule", "", "iv-ketamine.md §3; esketamine-and-rems.md §4-§5 (no hepatic criterion)",
                         order=10))

"""The treatment values the domain files give no number for (core/policy.py): clinic policy to be confirmed."""

from ketacare.core.policy import PolicyValue, register
from ketacare.treatment.domain.dosing import IDEAL_WEIGHT_WARN_BELOW_FRACTION
from ketacare.treatment.domain.missed_sessions import WORSENING_PHQ9_POINTS
from ketacare.treatment.domain.protocols import WeightBasedDoseRule
from ketacare.treatment.domain.vitals import Thresholds

# Protocol fields (JSON path in a protocol's overrides) with no published number, and the section that names them.
PROTOCOL_PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "thresholds.heart_rate_alert_above_bpm": ("Heart rate alert above (/min)", "iv-ketamine.md §6"),
    "thresholds.heart_rate_alert_below_bpm": ("Heart rate alert below (/min)", "iv-ketamine.md §6"),
    "thresholds.spo2_alert_below_pct": ("SpO2 alert below (%)", "esketamine-and-rems.md §5 (respiratory depression)"),
    "thresholds.spo2_critical_below_pct": ("SpO2 critical below (%)",
                                           "esketamine-and-rems.md §5 (respiratory depression)"),
    "thresholds.resp_rate_alert_below_per_min": ("Respiratory rate alert below (/min)",
                                                 "esketamine-and-rems.md §5 (respiratory depression)"),
    "thresholds.resp_rate_alert_above_per_min": ("Respiratory rate alert above (/min)", "iv-ketamine.md §6"),
    "dose_rule.max_total_mg": ("IV dose ceiling per infusion (mg)", "iv-ketamine.md §1 (clinic-configured maxima)"),
}


def _default(path: str) -> str:
    head, _, name = path.partition(".")
    return str(getattr(Thresholds() if head == "thresholds" else WeightBasedDoseRule(), name))


def register_placeholders() -> None:
    register(*[PolicyValue(f"treatment.{path}", label, _default(path), "treatment:protocols", source, order=20)
               for path, (label, source) in PROTOCOL_PLACEHOLDERS.items()])
    register(
        PolicyValue("treatment.ideal_weight_warn_below_fraction",
                    "Ideal-weight dose below this fraction of the actual-weight dose needs acknowledgement",
                    str(IDEAL_WEIGHT_WARN_BELOW_FRACTION), "", "iv-ketamine.md §1.1", order=30),
        PolicyValue("treatment.missed_sessions_worsening_phq9_points",
                    "Missed maintenance sessions: PHQ-9 rise that counts as worsening", str(WORSENING_PHQ9_POINTS),
                    "", "esketamine-and-rems.md §3.3; instruments.md §1.2", order=30),
    )

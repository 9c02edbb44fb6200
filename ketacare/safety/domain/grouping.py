"""One alert per event: how the parts (findings) of an alert make its headline, and when a new part tells the
on-call clinician again (pure Python).

Source: instruments.md §13 (severity tiers: the alert is as severe as its most severe part), §1.3 and §6.3 (urgent
alerts reach a named clinician at once, with escalation: safety/domain/oncall.py). A finding that joins an open
alert never lowers its severity; one of higher severity, or the first urgent one, is notified as if it were a new
alert, so grouping never makes the on-call path less strict than one alert per finding would be.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ketacare.safety.domain.oncall import is_urgent

# Most urgent first (safety/choices.py::AlertSeverity); "prompt" is a check to do, below low.
SEVERITY_ORDER = ("emergency", "high", "moderate", "low", "prompt")


@dataclass(frozen=True)
class Part:
    """One rule that fired: its code, severity and the clinician-facing message."""

    code: str
    severity: str
    message: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_ORDER:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not self.code:
            raise ValueError("a finding needs the code of the rule that fired")


def rank(severity: str) -> int:
    """0 = most urgent."""
    return SEVERITY_ORDER.index(severity)


def headline(parts: Iterable[Part]) -> Part:
    """The part an alert is named after: urgent ones (suicide-risk rules, emergencies) first, then by severity; the
    earliest wins a tie."""
    ordered = list(parts)
    if not ordered:
        raise ValueError("an alert has at least one part")
    return min(ordered, key=lambda p: (not is_urgent(code=p.code, severity=p.severity), rank(p.severity)))


def highest_severity(severities: Iterable[str]) -> str:
    return min(severities, key=rank)


def summary(parts: Iterable[Part], limit: int = 500) -> str:
    """The messages of one observation's parts, most severe first, in one line."""
    ordered = sorted(parts, key=lambda p: rank(p.severity))
    text = "; ".join(dict.fromkeys(p.message for p in ordered))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def renotify(*, before: Part, before_severity: str, after: Part, after_severity: str) -> bool:
    """Whether the on-call clinician is told again when new parts join an open alert: the alert is urgent now and
    was not, or its severity rose."""
    if not is_urgent(code=after.code, severity=after_severity):
        return False
    was_urgent = is_urgent(code=before.code, severity=before_severity)
    return not was_urgent or rank(after_severity) < rank(before_severity)


# The actions most often taken on an alert, offered as choices beside free text when acknowledging (clinic workflow,
# no clinical source: the clinician still says what was done; a choice is stored as its words).
COMMON_ACTIONS = (
    "Rechecked: back within range",
    "Rechecked: still out of range, monitoring continues",
    "Prescriber informed",
    "Next dose held",
    "Observation extended",
    "Suicide-risk assessment done (see note)",
    "Emergency pathway started",
)


def compose_action(chosen: Iterable[str], text: str) -> str:
    """The action taken as stored: the chosen common actions, then the free text. Unknown choices are refused."""
    picked = list(dict.fromkeys(chosen))
    unknown = [c for c in picked if c not in COMMON_ACTIONS]
    if unknown:
        raise ValueError(f"not a common action: {unknown[0]!r}")
    return "; ".join([*picked, *filter(None, [(text or "").strip()])])

"""Which open alerts mean an unresolved suicide risk, and which are loud enough for the every-page banner.

Source: docs/domain/instruments.md §1.3 (PHQ-9 item 9 >= 1: same-day suicide-risk assessment; score 2-3 "before
any dosing/discharge"), §1.2 and §13.4 (a missing item 9 is "unknown -> prompt clinician", never reassurance),
§6.3 (C-SSRS HIGH: do not dose until evaluated; MODERATE: same-day consult). The rule codes are those of the
shipped definitions (ketacare/instruments/definitions/phq-9@1.0.0.json, cssrs-screen@1.0.0.json).

A dosing session is blocked while any of these alerts is open; a prescriber clears it by acknowledging it with
the action taken (the assessment done).
"""

SUICIDE_RISK_CODES = frozenset(
    {
        "phq9.item9_positive",  # §1.3
        "phq9.item9_unanswered",  # §1.2, §13.4: unknown is not "no"
        "cssrs.moderate_risk",  # §6.2-6.3
        "cssrs.high_risk",  # §6.2-6.3
        "cssrs.incomplete",  # §13.4: an unfinished screen could hide a positive answer
    }
)

# Severities shown on every staff page until acknowledged (issue 3: "impossible to miss").
BANNER_SEVERITIES = ("emergency", "high")

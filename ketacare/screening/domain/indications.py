"""What a labeled indication needs beyond eligibility, checked when a protocol for that indication is chosen.

Source: docs/domain/esketamine-and-rems.md §2 (indications: TRD as monotherapy or with an oral antidepressant;
MDD with acute suicidal ideation or behavior (MDSI) together with an oral antidepressant; "do not make concurrent
oral antidepressant a hard eligibility requirement for TRD; it is still part of the labeled MDSI indication") and
§3.2 (MDSI dosing: the oral antidepressant continues per clinical judgment).
"""

from __future__ import annotations

from enum import StrEnum

from ketacare.screening.domain.facts import IntakeFacts


class Indication(StrEnum):
    TRD = "trd"
    MDSI = "mdsi"


def indication_problems(facts: IntakeFacts, indication: Indication | str) -> tuple[str, ...]:
    """Why the facts do not (yet) support this indication; empty when they do."""
    indication = Indication(indication)
    if indication is Indication.MDSI:
        on_antidepressant = facts.takes_oral_antidepressant
        if on_antidepressant is None:
            return ("The MDSI indication is esketamine together with an oral antidepressant "
                    "(esketamine-and-rems.md §2, §3.2): complete the medication list first",)
        if not on_antidepressant:
            return ("The MDSI indication is esketamine together with an oral antidepressant "
                    "(esketamine-and-rems.md §2, §3.2): no current oral antidepressant is on the medication list",)
    return ()  # TRD: monotherapy or with an oral antidepressant (§2)

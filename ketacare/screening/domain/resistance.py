"""Treatment-resistance summary from a patient's prior treatment trials.

Source: docs/domain/esketamine-and-rems.md §2 — TRD as used by the SPRAVATO label and trials: MDD with an
inadequate response to at least two oral antidepressants of adequate dose and duration in the current episode [C];
the 2025 monotherapy approval uses the same ">= 2 oral antidepressants" wording.
The minimum number of failed trials comes from the caller (EligibilityParams), not from this module.

Whether a trial was of adequate dose and duration is recorded by the clinician (`adequate`): the domain files give
no numeric minimum dose or duration, so none is invented here. A trial counts as failed when its response was
none or partial ("inadequate response"). Trials are counted per distinct drug (case-insensitive name): the label
speaks of two antidepressants, so a second trial of the same drug does not make a second failure. Unknown
answers are never guessed: a trial that could count but has an unknown adequacy, response or episode makes
`is_trd` unknown when it could change the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class TrialKind(StrEnum):
    ORAL_ANTIDEPRESSANT = "oral_antidepressant"
    OTHER_MEDICATION = "other_medication"  # e.g. augmentation with an antipsychotic or lithium
    PSYCHOTHERAPY = "psychotherapy"
    OTHER = "other"  # e.g. ECT, TMS


class Response(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    RESPONSE = "response"
    REMISSION = "remission"


FAILED_RESPONSES = frozenset({Response.NONE, Response.PARTIAL})


@dataclass(frozen=True)
class TreatmentTrial:
    """One prior treatment trial as recorded at intake. None = not recorded."""

    name: str
    kind: TrialKind
    dose_mg_per_day: Decimal | None = None
    duration_weeks: int | None = None
    adequate: bool | None = None  # adequate dose and duration, per the prescriber
    response: Response | None = None
    current_episode: bool | None = None


@dataclass(frozen=True)
class ResistanceSummary:
    adequate_failed_antidepressant_trials: int  # distinct oral antidepressants: adequate, failed, current episode
    uncertain_antidepressant_trials: int  # distinct drugs that could count, but something is unknown
    antidepressant_trials: int
    psychotherapy_trials: int
    total_trials: int
    min_failed_trials: int
    is_trd: bool | None  # None: the uncertain trials decide it

    @property
    def description(self) -> str:
        text = (
            f"{self.adequate_failed_antidepressant_trials} adequate failed oral antidepressant trial(s) in the "
            f"current episode (TRD needs >= {self.min_failed_trials})"
        )
        if self.uncertain_antidepressant_trials:
            text += f"; {self.uncertain_antidepressant_trials} more with unknown adequacy, response or episode"
        return text


def _trial_counts(trial: TreatmentTrial) -> bool | None:
    """Whether an oral-antidepressant trial counts towards TRD: True, False, or None when unknown."""
    answers = (
        trial.adequate,
        None if trial.response is None else trial.response in FAILED_RESPONSES,
        trial.current_episode,
    )
    if False in answers:
        return False
    if None in answers:
        return None
    return True


def _drug(trial: TreatmentTrial) -> str:
    return " ".join(trial.name.lower().split())


def summarize(trials: Iterable[TreatmentTrial], *, min_failed_trials: int) -> ResistanceSummary:
    trials = tuple(trials)
    antidepressants = [t for t in trials if t.kind == TrialKind.ORAL_ANTIDEPRESSANT]
    failed_drugs = {_drug(t) for t in antidepressants if _trial_counts(t) is True}
    uncertain_drugs = {_drug(t) for t in antidepressants if _trial_counts(t) is None} - failed_drugs
    failed, uncertain = len(failed_drugs), len(uncertain_drugs)
    if failed >= min_failed_trials:
        is_trd: bool | None = True
    elif failed + uncertain < min_failed_trials:
        is_trd = False
    else:
        is_trd = None
    return ResistanceSummary(
        adequate_failed_antidepressant_trials=failed,
        uncertain_antidepressant_trials=uncertain,
        antidepressant_trials=len(antidepressants),
        psychotherapy_trials=sum(1 for t in trials if t.kind == TrialKind.PSYCHOTHERAPY),
        total_trials=len(trials),
        min_failed_trials=min_failed_trials,
        is_trd=is_trd,
    )

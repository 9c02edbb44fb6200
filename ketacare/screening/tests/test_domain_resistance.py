"""Treatment-resistance summary (screening/domain/resistance.py).

TRD per docs/domain/esketamine-and-rems.md §2: inadequate response to >= 2 oral antidepressants of adequate dose
and duration in the current episode.
"""

from decimal import Decimal

import pytest

from ketacare.screening.domain.resistance import Response, TreatmentTrial, TrialKind, summarize

AD = TrialKind.ORAL_ANTIDEPRESSANT


def failed(name, **overrides):
    values = dict(
        name=name,
        kind=AD,
        dose_mg_per_day=Decimal("100"),
        duration_weeks=8,
        adequate=True,
        response=Response.NONE,
        current_episode=True,
    )
    values.update(overrides)
    return TreatmentTrial(**values)


TABLE = [
    # (description, trials, adequate failed, uncertain, is_trd)
    ("no trials recorded", (), 0, 0, False),
    ("one failed trial", (failed("sertraline"),), 1, 0, False),
    ("two different failed trials", (failed("sertraline"), failed("venlafaxine")), 2, 0, True),
    (
        "partial response counts as failure",
        (failed("sertraline"), failed("bupropion", response=Response.PARTIAL)),
        2,
        0,
        True,
    ),
    (
        "same drug twice is one antidepressant",
        (failed("sertraline"), failed("Sertraline ", dose_mg_per_day=None)),
        1,
        0,
        False,
    ),
    ("inadequate trial does not count", (failed("sertraline"), failed("venlafaxine", adequate=False)), 1, 0, False),
    (
        "responder does not count",
        (failed("sertraline"), failed("venlafaxine", response=Response.RESPONSE)),
        1,
        0,
        False,
    ),
    (
        "remission does not count",
        (failed("sertraline"), failed("venlafaxine", response=Response.REMISSION)),
        1,
        0,
        False,
    ),
    (
        "previous episode does not count",
        (failed("sertraline"), failed("venlafaxine", current_episode=False)),
        1,
        0,
        False,
    ),
    ("psychotherapy does not count", (failed("sertraline"), failed("CBT", kind=TrialKind.PSYCHOTHERAPY)), 1, 0, False),
    (
        "augmentation does not count",
        (failed("sertraline"), failed("aripiprazole", kind=TrialKind.OTHER_MEDICATION)),
        1,
        0,
        False,
    ),
    ("unknown adequacy could decide it", (failed("sertraline"), failed("venlafaxine", adequate=None)), 1, 1, None),
    ("unknown response could decide it", (failed("sertraline"), failed("venlafaxine", response=None)), 1, 1, None),
    (
        "unknown episode could decide it",
        (failed("sertraline"), failed("venlafaxine", current_episode=None)),
        1,
        1,
        None,
    ),
    (
        "unknown but already known not to count",
        (failed("sertraline"), failed("venlafaxine", adequate=None, response=Response.RESPONSE)),
        1,
        0,
        False,
    ),
    (
        "unknown trial of an already failed drug",
        (failed("sertraline"), failed("sertraline", adequate=None)),
        1,
        0,
        False,
    ),
    (
        "two failures decide it whatever is unknown",
        (failed("sertraline"), failed("venlafaxine"), failed("mirtazapine", adequate=None)),
        2,
        1,
        True,
    ),
]


@pytest.mark.parametrize(
    ("description", "trials", "failures", "uncertain", "is_trd"), TABLE, ids=[row[0] for row in TABLE]
)
def test_resistance_summary_table(description, trials, failures, uncertain, is_trd):
    summary = summarize(trials, min_failed_trials=2)
    assert summary.adequate_failed_antidepressant_trials == failures
    assert summary.uncertain_antidepressant_trials == uncertain
    assert summary.is_trd is is_trd


def test_minimum_number_of_failed_trials_comes_from_the_caller():
    trials = (failed("sertraline"), failed("venlafaxine"))
    assert summarize(trials, min_failed_trials=2).is_trd is True
    assert summarize(trials, min_failed_trials=3).is_trd is False
    assert summarize(trials + (failed("x", adequate=None),), min_failed_trials=3).is_trd is None


def test_summary_counts_and_describes_the_trials():
    trials = (failed("sertraline"), failed("CBT", kind=TrialKind.PSYCHOTHERAPY), failed("venlafaxine", adequate=None))
    summary = summarize(trials, min_failed_trials=2)
    assert (summary.antidepressant_trials, summary.psychotherapy_trials, summary.total_trials) == (2, 1, 3)
    assert summary.description == (
        "1 adequate failed oral antidepressant trial(s) in the current episode (TRD needs >= 2); "
        "1 more with unknown adequacy, response or episode"
    )

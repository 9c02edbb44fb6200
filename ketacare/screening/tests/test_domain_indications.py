"""What a labeled indication needs beyond eligibility (screening/domain/indications.py).

esketamine-and-rems.md §2 and §3.2: the MDSI indication is esketamine together with an oral antidepressant; TRD
may be monotherapy (since January 2025), so an oral antidepressant is never required for it.
"""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.screening.domain.indications import Indication, indication_problems
from ketacare.screening.tests.test_domain_rules import CLEAN


@pytest.mark.parametrize(("on_antidepressant", "words"), [
    (None, "complete the medication list"),
    (False, "no current oral antidepressant"),
    (True, None),
])
def test_mdsi_needs_a_current_oral_antidepressant_esketamine_2_3_2(on_antidepressant, words):
    problems = indication_problems(replace(CLEAN, takes_oral_antidepressant=on_antidepressant), Indication.MDSI)
    if words is None:
        assert problems == ()
    else:
        (problem,) = problems
        assert words in problem and "esketamine-and-rems.md §2, §3.2" in problem


@given(st.none() | st.booleans())
def test_trd_never_requires_an_oral_antidepressant_esketamine_2(on_antidepressant):
    assert indication_problems(replace(CLEAN, takes_oral_antidepressant=on_antidepressant), "trd") == ()


def test_an_unknown_indication_is_refused():
    with pytest.raises(ValueError):
        indication_problems(CLEAN, "anxiety")

"""Issue 3 acceptance 2 at the recording boundary (Hypothesis): whatever is submitted, a stored response's total is
within the instrument's range and equals the domain's score; any invalid answer is refused by name and nothing is
stored; a missing item is never stored as zero."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ketacare.accounts.roles import Role
from ketacare.instruments import services
from ketacare.instruments.domain.model import InvalidAnswer, Method
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.instruments.tests.support import item_value, shipped
from ketacare.safety.models import Alert
from tests.factories import PatientFactory, UserFactory

SUMMED = sorted(k for k, i in shipped().items() if i.method is Method.SUM)


@st.composite
def some_answers(draw):
    """An instrument and answers to some of its items, each valid or (sometimes) not."""
    key = draw(st.sampled_from(SUMMED))
    instrument = shipped()[key]
    answers, invalid = {}, None
    for item in instrument.items:
        if draw(st.integers(0, 5)) == 0:
            continue  # unanswered
        if invalid is None and draw(st.integers(0, 12)) == 0:
            high = item.weight_range[1] if item.weight_range else 0
            answers[item.link_id] = draw(st.sampled_from([int(high) + 1, -1, "no-such-code", 1.5, True]))
            invalid = item.link_id
        else:
            answers[item.link_id] = draw(item_value(item))
    return key, answers, invalid


class RecordingProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.nurse = UserFactory(role=Role.NURSE)
        cls.patient = PatientFactory(clinic=cls.nurse.clinic)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(some_answers())
    def test_stored_scores_are_in_range_and_invalid_answers_store_nothing(self, case):
        key, answers, invalid = case
        instrument = shipped()[key]
        before = (QuestionnaireResponse.objects.count(), Alert.objects.count())
        if invalid is not None and not _numeric_ok(instrument, invalid, answers[invalid]):
            with pytest.raises(InvalidAnswer) as refused:
                services.response_record(patient=self.patient, actor=self.nurse, instrument_key=key,
                                         answers=answers, answered_at=timezone.now(), mode="self_report")
            assert refused.value.link_id == invalid
            assert (QuestionnaireResponse.objects.count(), Alert.objects.count()) == before
            return
        response = services.response_record(patient=self.patient, actor=self.nurse, instrument_key=key,
                                            answers=answers, answered_at=timezone.now(), mode="self_report")
        response.refresh_from_db()
        answered = {link for link, value in answers.items() if value is not None}
        scored = {i.link_id for i in instrument.scored_items}
        assert set(response.missing) == scored - answered  # never zero-filled
        assert set(response.item_scores) <= answered
        if response.status == "complete":
            low, high = instrument.total_range
            assert low <= response.total <= high
            assert response.total == sum(Decimal(str(v)) for k, v in response.item_scores.items() if k in scored)
        else:
            assert response.total is None and response.band == ""


def _numeric_ok(instrument, link_id, value) -> bool:
    """-1 or high+1 can still be a valid weight of an option list that has gaps; ask the item itself."""
    try:
        instrument.item(link_id).resolve(value)
    except InvalidAnswer:
        return False
    return True

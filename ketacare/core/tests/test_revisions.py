"""One way to revise a clinic setting (issue 10, point 4): core/revisions.py, used by all five settings."""

import pytest
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.core.append_only import ImmutableRecord
from ketacare.core.revisions import REASON_MAX_CHARS, SettingRevision, current_revision, revise, revision_history
from ketacare.instruments.models import SafetyThresholdSetting
from ketacare.outcomes.models import OutcomeSetting
from ketacare.screening.models import EligibilitySetting
from ketacare.treatment.models import ProtocolSetting, RemsSetting
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PROMPT = "Say why."


def test_every_clinic_setting_is_a_setting_revision():
    for model in (ProtocolSetting, RemsSetting, SafetyThresholdSetting, EligibilitySetting, OutcomeSetting):
        assert issubclass(model, SettingRevision), model


def test_revisions_count_up_per_clinic_and_scope_and_keep_their_reason():
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    other = UserFactory(role=Role.CLINIC_ADMIN)
    first = revise(EligibilitySetting, actor=admin, reason="  MD memo 1 ", reason_prompt=PROMPT, overrides={})
    second = revise(EligibilitySetting, actor=admin, reason="MD memo 2", reason_prompt=PROMPT, overrides={})
    elsewhere = revise(EligibilitySetting, actor=other, reason="their memo", reason_prompt=PROMPT, overrides={})
    assert (first.revision, second.revision, elsewhere.revision) == (1, 2, 1)
    assert first.reason == "MD memo 1" and first.created_by == admin and first.clinic_id == admin.clinic_id
    assert current_revision(EligibilitySetting, clinic_id=admin.clinic_id) == second
    assert revision_history(EligibilitySetting, clinic_id=admin.clinic_id) == [second, first]
    a = revise(OutcomeSetting, actor=admin, reason="r", reason_prompt=PROMPT, scope={"instrument_key": "phq-9"})
    b = revise(OutcomeSetting, actor=admin, reason="r", reason_prompt=PROMPT, scope={"instrument_key": "gad-7"})
    assert a.revision == b.revision == 1
    second.reason = "rewritten"
    with pytest.raises(ImmutableRecord):
        second.save()


@pytest.mark.parametrize(("reason", "message"), [("", PROMPT), ("   ", PROMPT),
                                                 ("x" * (REASON_MAX_CHARS + 1), "under 1000 characters")])
def test_a_revision_without_a_usable_reason_is_refused_and_nothing_is_saved(reason, message):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    with pytest.raises(ValidationError) as refused:
        revise(EligibilitySetting, actor=admin, reason=reason, reason_prompt=PROMPT, overrides={})
    assert message in refused.value.message_dict["reason"][0]
    assert not EligibilitySetting.objects.exists()


def test_the_scope_must_be_the_models_own():
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    with pytest.raises(TypeError, match="protocol_ref"):
        revise(ProtocolSetting, actor=admin, reason="r", reason_prompt=PROMPT, overrides={})


def test_the_settings_pages_show_every_revision_with_its_reason(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    client.force_login(admin)
    for n in (1, 2):
        revise(EligibilitySetting, actor=admin, reason=f"medical director memo {n}", reason_prompt=PROMPT,
               overrides={})
    page = client.get("/intake/eligibility-settings/").content.decode()
    assert "In force: revision 2" in page and "medical director memo 2" in page
    assert "Revision 1" in page and "medical director memo 1" in page

"""`ketacare instruments import` / `list` (issue 3 "Import", acceptance 5): the LHC-Forms PHQ-9 imports and scores
exactly like the built-in phq-9 on every external vector, through the stored definition and through the API."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ketacare.instruments.domain.scoring import score
from ketacare.instruments.models import ImportedInstrument
from ketacare.instruments.selectors import instrument_get
from ketacare.instruments.tests.support import QUESTIONNAIRES, shipped, vector_answers, vectors
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

LFORMS = str(QUESTIONNAIRES / "lforms_phq9_R4.json")
PHQ9_VECTORS = [v for v in vectors() if v["instrument"] == "PHQ-9"]


def run(*args) -> str:
    out = StringIO()
    call_command("instruments", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def imported():
    run("import", LFORMS, "--key", "phq9-lforms", "--bands-from", "phq-9")
    return instrument_get("phq9-lforms")


@pytest.mark.parametrize("vector", PHQ9_VECTORS, ids=[v["id"] for v in PHQ9_VECTORS])
def test_imported_lforms_phq9_gives_the_builtin_totals_on_every_vector(imported, vector):
    builtin = shipped()["phq-9"]
    for by in ("weight", "code"):
        if by == "code" and not all(a["answer_code"].startswith("LA") for a in vector["answers"]):
            continue
        mine, theirs = score(imported, vector_answers(imported, vector, by=by)), score(
            builtin, vector_answers(builtin, vector, by=by))
        assert (mine.status, mine.total, mine.band, mine.missing) == (
            theirs.status, theirs.total, theirs.band, theirs.missing)


@pytest.mark.parametrize("vector", PHQ9_VECTORS, ids=[v["id"] for v in PHQ9_VECTORS])
def test_the_score_api_gives_the_same_totals_for_the_import_and_the_builtin(client, imported, vector, bearer):
    from tests.factories import UserFactory

    headers = bearer(UserFactory(role="nurse"))
    results = []
    for key, instrument in (("phq9-lforms", imported), ("phq-9", shipped()["phq-9"])):
        body = json.dumps({"answers": vector_answers(instrument, vector, by="weight")})
        results.append(client.post(f"/api/v1/instruments/{key}/score", body, content_type="application/json",
                                   headers=headers).json())
    assert [(r["status"], r["total"], r["band"]) for r in results][0] == [
        (r["status"], r["total"], r["band"]) for r in results][1]


def test_import_prints_what_it_stored_and_is_idempotent():
    assert "imported phq9-lforms@1.0.0: 9 scored items, total 0-27" in run("import", LFORMS, "--key", "phq9-lforms")
    assert "nothing to do" in run("import", LFORMS, "--key", "phq9-lforms")
    assert ImportedInstrument.objects.count() == 1


def test_without_key_the_questionnaire_name_is_the_key_and_list_shows_both_kinds():
    run("import", LFORMS)
    listing = run("list")
    assert "phq-9@1.0.0\tshipped" in listing
    assert "phq-9-quick-depression-assessment-panel@1.0.0\timported" in listing and "all clinics" in listing


def test_a_different_file_under_a_published_version_is_refused(tmp_path):
    run("import", LFORMS, "--key", "phq9-lforms")
    changed = json.loads((QUESTIONNAIRES / "lforms_phq9_R4.json").read_text())
    changed["item"][0]["text"] = "changed wording"
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    with pytest.raises(CommandError, match="already published"):
        run("import", str(path), "--key", "phq9-lforms")
    assert "imported phq9-lforms@1.0.1" in run("import", str(path), "--key", "phq9-lforms", "--version", "1.0.1")


@pytest.mark.parametrize("args, message", [
    (["import", "/nonexistent.json"], "cannot read"),
    (["import", LFORMS, "--key", "phq-9"], "shipped instrument key"),
    (["import", LFORMS, "--bands-from", "madrs"], "no shipped instrument"),
    (["import", LFORMS, "--clinic", "zzz"], "no clinic"),
    (["import", str(QUESTIONNAIRES / "sdc_QuestionnaireResponse_PHQ9.json")], "not a FHIR Questionnaire"),
])
def test_bad_imports_stop_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ImportedInstrument.objects.exists()


def test_clinic_option_restricts_the_import():
    clinic = ClinicFactory(code="bos")
    run("import", LFORMS, "--key", "bos-phq9", "--clinic", "bos")
    assert ImportedInstrument.objects.get().clinic == clinic
    assert "(bos)" in run("list")

"""A questionnaire as the patient's page shows it, in the patient's language (no clinical logic here)."""

from dataclasses import dataclass

from ketacare.portal.domain.item_text import translated


@dataclass(frozen=True)
class Question:
    link_id: str
    field: str  # the form field name (linkIds start with "/": not a valid HTML id on their own)
    text: str
    options: tuple[tuple[str, str], ...]
    required: bool
    selected: str
    error: str


def questionnaire(instrument, *, language: str, answers: dict[str, str], errors: dict[str, str]) -> dict:
    """Title, stem and questions of `instrument` with the patient's saved answers and any errors."""
    questions = []
    for n, item in enumerate(i for i in instrument.items if i.options):
        text = translated(language, instrument.key, "items", item.link_id, default=item.text or item.label)
        options = tuple((o.code, translated(language, instrument.key, "options", o.code, default=o.display))
                        for o in item.options)
        questions.append(Question(link_id=item.link_id, field=f"q{n + 1}", text=text, options=options,
                                  required=item.scored, selected=answers.get(item.link_id, ""),
                                  error=errors.get(item.link_id, "")))
    return {"key": instrument.key,
            "title": translated(language, instrument.key, "title", default=instrument.title),
            "stem": translated(language, instrument.key, "stem", default=instrument.stem or ""),
            "copyright": instrument.text_license or "", "questions": questions}


def answers_from(post, questions: list[Question]) -> tuple[dict[str, str], dict[str, str]]:
    """(answers by linkId, errors by linkId) from a submitted form: a value that is not one of the item's options
    is dropped (tampered), a required item left blank is an error."""
    from django.utils.translation import gettext as _

    answers, errors = {}, {}
    for q in questions:
        value = post.get(q.field, "")
        if value in {code for code, _label in q.options}:
            answers[q.link_id] = value
        elif q.required:
            errors[q.link_id] = _("Choose one answer.")
    return answers, errors

"""The chart's "Outcomes" panel: per instrument baseline -> latest with response/remission status, and a link to
the outcomes page. Four queries whatever the history length (responses, first dose, definitions, letters)."""

from collections import defaultdict

from ketacare.instruments.choices import ResponseStatus
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.outcomes import selectors
from ketacare.outcomes.domain.definitions import DEFAULT_DEFINITIONS
from ketacare.outcomes.domain.trajectory import Measurement
from ketacare.outcomes.models import ProgressLetter


def panel_context(request, patient) -> dict:
    points: dict[str, list[Measurement]] = defaultdict(list)
    for key, at, total in (QuestionnaireResponse.objects
                           .filter(patient_id=patient.pk, instrument_key__in=list(DEFAULT_DEFINITIONS),
                                   status=ResponseStatus.COMPLETE, total__isnull=False)
                           .current().order_by("answered_at", "id").values_list("instrument_key", "answered_at",
                                                                                  "total")):
        points[key].append(Measurement(at, total))
    changes = selectors.changes_from_baseline(patient=patient, series=points)
    instruments = selectors.instruments()
    rows = []
    for key in sorted(points, key=lambda k: (k not in ("phq-9", "gad-7"), k)):
        baseline, latest = changes.get(key, (None, None))
        status, good = "", False
        if latest is not None:
            status, good = (("remission", True) if latest.is_remission else ("response", True) if latest.is_response
                            else ("no response", False))
        rows.append({"title": instruments[key].title if key in instruments else key,
                     "baseline": baseline.total if baseline else None, "latest": points[key][-1].total,
                     "status": status, "good": good})
    letters = ProgressLetter.objects.filter(clinic_id=patient.clinic_id, patient_id=patient.pk).count()
    return {"rows": rows, "letters": letters}

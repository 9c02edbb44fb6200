"""The chart's "Outcomes" panel: per instrument baseline -> latest with response/remission status, and a link to
the outcomes page. Three queries whatever the history length."""

from collections import defaultdict

from ketacare.instruments.choices import ResponseStatus
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.outcomes import selectors
from ketacare.outcomes.domain.trajectory import Measurement, choose_baseline, is_remission, is_response
from ketacare.outcomes.models import ProgressLetter
from ketacare.treatment.models import DosingSession


def panel_context(request, patient) -> dict:
    definitions = selectors.definitions_for_clinic(patient.clinic_id)
    first_dose = (DosingSession.objects.filter(patient_id=patient.pk, first_dose_at__isnull=False)
                  .order_by("first_dose_at").values_list("first_dose_at", flat=True).first())
    points: dict[str, list[Measurement]] = defaultdict(list)
    for key, at, total in (QuestionnaireResponse.objects
                           .filter(patient_id=patient.pk, instrument_key__in=list(definitions),
                                   status=ResponseStatus.COMPLETE, total__isnull=False)
                           .current().order_by("answered_at", "id").values_list("instrument_key", "answered_at",
                                                                                  "total")):
        points[key].append(Measurement(at, total))
    instruments = selectors.instruments()
    rows = []
    for key in sorted(points, key=lambda k: (k not in ("phq-9", "gad-7"), k)):
        definition, series = definitions[key], points[key]
        baseline = choose_baseline(series, first_dose_at=first_dose, definition=definition) if first_dose else None
        latest = series[-1]
        status, good = "", False
        if baseline is not None and latest.at > baseline.at:
            if is_remission(latest.total, definition):
                status, good = "remission", True
            elif is_response(baseline.total, latest.total, definition):
                status, good = "response", True
            else:
                status = "no response"
        rows.append({"title": instruments[key].title if key in instruments else key,
                     "baseline": baseline.total if baseline else None, "latest": latest.total,
                     "status": status, "good": good})
    letters = ProgressLetter.objects.filter(clinic_id=patient.clinic_id, patient_id=patient.pk).count()
    return {"rows": rows, "letters": letters}

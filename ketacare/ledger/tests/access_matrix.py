"""Who may reach each ledger page (written out independently of ketacare.accounts.roles)."""

from ketacare.accounts.roles import Role

VIEWERS = frozenset({Role.CLINIC_ADMIN, Role.PRESCRIBER, Role.NURSE})
RECORDERS = frozenset({Role.PRESCRIBER, Role.NURSE})
MANAGERS = frozenset({Role.CLINIC_ADMIN})

PAGES = {
    "ledger:stock": ("get", VIEWERS),
}
PAGES.update({
    "ledger:session-draw": ("post", RECORDERS),
    "ledger:draw-settle": ("post", RECORDERS),
    "ledger:dispensing-log": ("get", MANAGERS),
    "ledger:setup": ("get", MANAGERS),
    "ledger:receive": ("get", MANAGERS),
    "ledger:count": ("get", MANAGERS),
    "ledger:discrepancies": ("get", MANAGERS),
    "ledger:discrepancy-act": ("post", MANAGERS),
    "ledger:signals": ("get", MANAGERS),
    "ledger:movements": ("get", VIEWERS),
    "ledger:settings": ("get", MANAGERS),
    "ledger:report-inventory": ("get", MANAGERS),
    "ledger:report-discrepancies": ("get", MANAGERS),
    "ledger:report-destruction": ("get", MANAGERS),
    "ledger:report-losses": ("get", MANAGERS),
})


def make_objects(clinic, patient, users) -> dict[str, int]:
    """Stock in `clinic` and one draw for a session of `patient`."""
    from django.utils import timezone

    from ketacare.ledger import services
    from ketacare.ledger.tests.factories import make_stock
    from ketacare.treatment.tests.factories import CourseFactory, SessionFactory

    stock = make_stock(clinic=clinic)
    course = CourseFactory(patient=patient, created_by=users[Role.PRESCRIBER])
    session = SessionFactory(course=course, state="checked_in", checked_in_at=timezone.now())
    draw = services.ledger_draw(actor=stock.nurse, session_id=session.pk, lot=stock.esketamine_lot,
                                location=stock.safe, quantity=1)
    _count, opened = services.ledger_count(actor=stock.admin, location=stock.safe, time_of_day="close",
                                           counted={stock.ketamine_lot.pk: "19.6", stock.esketamine_lot.pk: "5"})
    return {"entry_id": draw.pk, "location_id": stock.safe.pk, "discrepancy_id": opened[0].pk}

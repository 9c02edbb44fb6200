"""What the ledger registers with the treatment app (treatment/links.py hooks): a session with an unreconciled draw
is neither discharged nor signed, and the floor board flags it."""

from ketacare.ledger.domain.stock import fmt


def session_close_refusals(session) -> list[str]:
    from ketacare.ledger.services import unreconciled_draws

    return [f"Controlled substance not reconciled: {fmt(state.outstanding)} {draw.lot.product.get_unit_display()} "
            f"of lot {draw.lot.lot_number} drawn but not administered, wasted or returned."
            for draw, state in unreconciled_draws(session_id=session.pk)]


def board_flags(session_ids: list[int]) -> dict[int, list[str]]:
    from ketacare.ledger.selectors import sessions_with_unreconciled_draws

    return {sid: ["unreconciled draw"] for sid in sessions_with_unreconciled_draws(session_ids)}


def connect() -> None:
    from ketacare.ledger.panels import session_panel, suggested_lot_number
    from ketacare.treatment import links

    links.register_close_guard(session_close_refusals)
    links.register_board_flags(board_flags)
    links.register_session_panel(session_panel)
    links.register_lot_suggestion(suggested_lot_number)

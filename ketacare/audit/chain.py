"""The audit chain against the database: the per-chain lock taken before an event is numbered, the rows as the
verifier reads them, and the heads (`ketacare audit verify` / `head`). The rules are in `audit/domain/chain.py`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ketacare.audit.domain.chain import ROW_COLUMNS, Break, Link, verify

TABLE = "audit_auditevent"
# pg_advisory_xact_lock(class, object): this class for audit chains, the clinic's id (0: the no-clinic chain).
LOCK_CLASS = 0x4B41  # "KA"


def lock_chain(connection: Any, clinic_id: int | None) -> None:
    """Serialize writers of one chain until the transaction ends. PostgreSQL: a transaction-scoped advisory lock
    (needs no privilege on any table, so the application role can take it). SQLite: every write transaction already
    holds the database's one write lock from its start (`transaction_mode` IMMEDIATE), so there is nothing to take."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, (clinic_id or 0) % 2**31])


def chain_rows(cursor: Any) -> Iterator[dict[str, Any]]:
    """Every event as the verifier reads it: raw SQL (no model, so a restored copy or another connection can be
    checked too), chains in order. `cursor` is a DB-API cursor on SQLite or PostgreSQL."""
    columns = ", ".join(ROW_COLUMNS)
    cursor.execute(f"SELECT {columns} FROM {TABLE} ORDER BY clinic_id, seq, id")
    while batch := cursor.fetchmany(2000):
        for values in batch:
            yield dict(zip(ROW_COLUMNS, values, strict=True))


def verify_cursor(cursor: Any, saved_heads: list[Link] | None = None) -> tuple[list[Break], dict[int | None, Link]]:
    return verify(chain_rows(cursor), saved_heads or ())


def heads_to_json(heads: dict[int | None, Link], codes: dict[int, str]) -> str:
    """The heads as `ketacare audit head` prints them: one object per chain, clinic id and code, last id, number,
    hash. Keep it somewhere no one can rewrite (docs/audit.md)."""
    chains = [{"clinic_id": h.clinic_id, "clinic": codes.get(h.clinic_id, "") if h.clinic_id is not None else "",
               "last_id": h.last_id, "seq": h.seq, "hash": h.hash}
              for h in sorted(heads.values(), key=lambda h: (h.clinic_id is not None, h.clinic_id or 0))]
    return json.dumps({"chains": chains}, indent=2)


def heads_from_json(text: str) -> list[Link]:
    """A saved head back; a file that is not one says so (ValueError naming what is wrong)."""
    try:
        chains = json.loads(text)["chains"]
        return [Link(c["clinic_id"], int(c["last_id"]), int(c["seq"]), str(c["hash"])) for c in chains]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a saved audit head ({exc.__class__.__name__}: {exc})") from None

"""The audit trail as hash chains: pure Python, no Django (privacy.md §1, audit controls; integrity).

Each clinic's events form one chain, and the events that belong to no clinic (sign-in failures for unknown names,
system jobs) form their own. Event number `seq` (1, 2, 3, ... within its chain) stores the hash of the event before it
(`prev_hash`; the first stores `GENESIS`) and its own hash, SHA-256 over the previous hash and a canonical form of
every column it was written with (`content`). Changing a row breaks its own hash; deleting one leaves a gap in
`seq` (or, at the end, is seen against a saved head); moving one breaks the links around it. Rewriting a whole chain
from some point on is possible for someone who can write the table; the head shipped daily to write-once storage
(`ketacare audit head`) is what catches that (docs/audit.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# The columns a hash covers, in the order they are read (`ROW_COLUMNS`): every column but `id` (not known before the
# row is inserted; the order of ids is checked instead) and the hash itself.
CONTENT_COLUMNS = ("seq", "at", "actor_id", "actor_username", "actor_role", "clinic_id", "action", "target_type",
                   "target_id", "patient_id", "request_id", "ip", "data")
ROW_COLUMNS = ("id", "prev_hash", "hash", *CONTENT_COLUMNS)


def _canonical_value(value: Any) -> Any:
    """JSON values as both databases give them back: floats that are whole become ints (jsonb drops the '.0' of
    1e20 and keeps it for 2.0; SQLite keeps both), tuples become lists."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical_value(v) for v in value]
    return value


def _canonical_at(value: Any) -> str:
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC, no offset
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(content: Mapping[str, Any]) -> bytes:
    """One byte string for an event's content, the same whichever database (or driver) it was read from."""
    data = content["data"]
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    ip = content["ip"]
    form = {
        "seq": int(content["seq"]),
        "at": _canonical_at(content["at"]),
        "actor_id": None if content["actor_id"] is None else int(content["actor_id"]),
        "actor_username": content["actor_username"] or "",
        "actor_role": content["actor_role"] or "",
        "clinic_id": None if content["clinic_id"] is None else int(content["clinic_id"]),
        "action": content["action"],
        "target_type": content["target_type"] or "",
        "target_id": content["target_id"] or "",
        "patient_id": None if content["patient_id"] is None else int(content["patient_id"]),
        "request_id": content["request_id"] or "",
        "ip": None if ip in (None, "") else str(ipaddress.ip_address(str(ip))),
        "data": _canonical_value(data or {}),
    }
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(content)).hexdigest()


@dataclass(frozen=True)
class Link:
    """Where a chain ends: its last event's id, number and hash."""

    clinic_id: int | None
    last_id: int
    seq: int
    hash: str


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: which event, and what differs."""

    clinic_id: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        chain = "no clinic" if self.clinic_id is None else f"clinic {self.clinic_id}"
        where = f"event {self.event_id}" if self.event_id is not None else "end of chain"
        return f"{chain}, {where}: {self.problem}"


@dataclass
class _Walk:
    seq: int = 0
    prev_hash: str = GENESIS
    last_id: int = 0
    broken: bool = False


def verify(rows: Iterable[Mapping[str, Any]],
           saved_heads: Iterable[Link] = ()) -> tuple[list[Break], dict[int | None, Link]]:
    """Walk every chain in `rows` (each chain's rows in `seq` order; chains may be interleaved). Returns the first
    break of each broken chain, and the head of each chain as stored. `saved_heads` (from an earlier `head`) must
    still be in the chains, with the same hash: a chain cut short or rewritten since is a break."""
    walks: dict[int | None, _Walk] = {}
    breaks: dict[int | None, Break] = {}
    seen: dict[tuple[int | None, int], tuple[int, str]] = {}
    wanted = {(h.clinic_id, h.seq) for h in saved_heads}
    for row in rows:
        clinic_id = None if row["clinic_id"] is None else int(row["clinic_id"])
        walk = walks.setdefault(clinic_id, _Walk())
        event_id, seq = int(row["id"]), int(row["seq"])
        if (clinic_id, seq) in wanted:
            seen[(clinic_id, seq)] = (event_id, row["hash"])
        if walk.broken:
            continue
        problem = None
        if seq > walk.seq + 1:
            gap = f"{walk.seq + 1}" if seq == walk.seq + 2 else f"{walk.seq + 1}-{seq - 1}"
            problem = f"event number {gap} of the chain is missing (deleted), before this one (number {seq})"
        elif seq <= walk.seq:
            problem = f"number {seq} again after number {walk.seq} (a copied or moved event)"
        elif event_id <= walk.last_id:
            problem = f"stored before the event it follows (id {walk.last_id}): the events were reordered"
        elif row["prev_hash"] != walk.prev_hash:
            problem = "its link to the event before differs (that event was changed, moved or removed)"
        elif event_hash(walk.prev_hash, row) != row["hash"]:
            problem = "its content differs from what was recorded (changed after it was written)"
        if problem is not None:
            breaks[clinic_id] = Break(clinic_id, event_id, problem)
            walk.broken = True
            continue
        walk.seq, walk.prev_hash, walk.last_id = seq, row["hash"], event_id
    for head in saved_heads:
        if head.clinic_id in breaks:
            continue
        found = seen.get((head.clinic_id, head.seq))
        if found is None:
            breaks[head.clinic_id] = Break(head.clinic_id, head.last_id,
                                           f"event number {head.seq} of the saved head is gone (the chain was cut)")
        elif found[1] != head.hash:
            breaks[head.clinic_id] = Break(head.clinic_id, found[0],
                                           f"event number {head.seq} differs from the saved head (the chain was "
                                           "rewritten)")
    heads = {c: Link(c, w.last_id, w.seq, w.prev_hash) for c, w in walks.items() if not w.broken}
    return sorted(breaks.values(), key=lambda b: (b.clinic_id is not None, b.clinic_id or 0)), heads

"""Per-request facts (request id, client IP) that the audit trail records without passing `request` to services."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str | None = None


_EMPTY = RequestMeta()  # frozen: safe to share as the default
_current: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar(
    "ketacare_request", default=_EMPTY)  # noqa: B039


def current() -> RequestMeta:
    return _current.get()


def bind(meta: RequestMeta) -> contextvars.Token[RequestMeta]:
    return _current.set(meta)


def unbind(token: contextvars.Token[RequestMeta]) -> None:
    _current.reset(token)

"""Per-request facts (request id, client IP) that the audit trail records without threading `request` through services."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str | None = None


_current: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("ketacare_request", default=RequestMeta())


def current() -> RequestMeta:
    return _current.get()


def bind(meta: RequestMeta) -> contextvars.Token[RequestMeta]:
    return _current.set(meta)


def unbind(token: contextvars.Token[RequestMeta]) -> None:
    _current.reset(token)

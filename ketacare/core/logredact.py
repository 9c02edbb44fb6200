"""A logging filter that removes the secret token of a patient's portal link (/p/<token>/) from every log line.

The token is a bearer secret in a URL path: Django's request and server loggers, gunicorn and tracebacks would
otherwise write it into log files. The filter rewrites the record's message and arguments before any handler
formats it."""

import logging
import re

# /p/<token> where the token is URL-safe base64 (secrets.token_urlsafe); anything after /p/ up to a separator.
TOKEN_IN_PATH = re.compile(r"(/p/)[A-Za-z0-9_\-]{16,}")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactPortalTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # Django's request logger also attaches the request; its repr carries the path.
        if hasattr(record, "request"):
            record.request = None
        return True

"""SMS backends: one small interface, chosen by `settings.KETACARE_SMS_BACKEND` (a dotted path).

* `FileSmsBackend` (the default, for the demo and tests) appends one JSON line per message to
  `settings.KETACARE_SMS_FILE` (var/sms-outbox.jsonl).
* `TwilioSmsBackend` is the provider adapter: it POSTs to Twilio's Messages resource
  (`POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields `To`, `From`, `Body`,
  HTTP Basic auth with the account SID and auth token; a 201 answer carries the message `sid`). Configure it with
  `KETACARE_SMS_BACKEND=ketacare.messaging.sms.TwilioSmsBackend` and `KETACARE_TWILIO_ACCOUNT_SID`,
  `KETACARE_TWILIO_AUTH_TOKEN` (or `_FILE`), `KETACARE_TWILIO_FROM`. Tests never call it over the network.

A backend raises `SmsError` (or any exception) when the message was not accepted; the worker then retries.
"""

import base64
import fcntl
import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from ketacare.core import clock


class SmsError(Exception):
    """The provider did not accept the message."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, message_id: str) -> str:
        """Hand the message to the provider; return the provider's id for it."""


class FileSmsBackend:
    """Writes each message as a JSON line (to, body, message_id, at): the demo's and the tests' phone."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or str(settings.KETACARE_SMS_FILE))

    def send(self, *, to: str, body: str, message_id: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "body": body, "message_id": message_id, "at": clock.now().isoformat()})
        with self.path.open("a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # two workers append whole lines
            f.write(line + "\n")
        return message_id


class TwilioSmsBackend:
    """Twilio's REST API (Messages resource). `opener` is injectable so the request shape can be tested offline."""

    API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"

    def __init__(self, *, account_sid: str | None = None, auth_token: str | None = None, from_number: str | None = None,
                 opener=None) -> None:
        self.account_sid: str = account_sid or settings.KETACARE_TWILIO_ACCOUNT_SID or ""
        self.auth_token: str = auth_token or settings.KETACARE_TWILIO_AUTH_TOKEN or ""
        self.from_number: str = from_number or settings.KETACARE_TWILIO_FROM or ""
        self.opener = opener or urllib.request.urlopen
        if not (self.account_sid and self.auth_token and self.from_number):
            raise SmsError("Twilio needs KETACARE_TWILIO_ACCOUNT_SID, KETACARE_TWILIO_AUTH_TOKEN and "
                           "KETACARE_TWILIO_FROM")

    def request_for(self, *, to: str, body: str) -> urllib.request.Request:
        data = urllib.parse.urlencode({"To": to, "From": self.from_number, "Body": body}).encode()
        token = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return urllib.request.Request(self.API.format(sid=urllib.parse.quote(self.account_sid)), data=data,
                                      method="POST", headers={"Authorization": f"Basic {token}",
                                                              "Content-Type": "application/x-www-form-urlencoded"})

    def send(self, *, to: str, body: str, message_id: str) -> str:
        with self.opener(self.request_for(to=to, body=body), timeout=10) as response:
            status = response.status
            payload = json.loads(response.read() or b"{}")
        if status != 201 or "sid" not in payload:
            raise SmsError(f"Twilio answered {status}")
        return payload["sid"]


def sms_backend() -> SmsBackend:
    return import_string(str(settings.KETACARE_SMS_BACKEND))()

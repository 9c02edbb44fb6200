"""A bounded load on a real server: `ketacare serve` (gunicorn) on PostgreSQL, driven by Locust (headless, as a
library) from this process, on 127.0.0.1 only, with a fixed number of users for a fixed time. See
benchmarks/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_load .venv/bin/python benchmarks/load.py [--users 4]
        [--seconds 30] [--workers 4]

The mix is a treatment day's: floor board polling, session pages, vitals writes, patient charts, outcome pages and
questionnaire entry, with the home page as the floor. It prints throughput and p50/p95/p99 per page, each page's
median as a ratio to the floor's median measured in the same run, and exits non-zero if any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from gevent import monkey

monkey.patch_all()

from locust import HttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KETACARE = str(ROOT / ".venv" / "bin" / "ketacare")
PASSWORD = "ketacare-demo"
IDS_SCRIPT = """
import json
from django.db.models import Count
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.treatment.models import DosingSession
clinic = Clinic.objects.get(code="rkc")
patients = list(Patient.objects.filter(clinic=clinic).annotate(n=Count("questionnaire_responses"))
                .order_by("-n").values_list("id", flat=True)[:12])
sessions = list(DosingSession.objects.filter(clinic=clinic).order_by("-planned_on").values_list("id", flat=True)[:12])
live = list(DosingSession.objects.filter(clinic=clinic, state__in=["monitoring", "observation", "dosing"])
            .values_list("id", flat=True)[:6])
print(json.dumps({"patients": patients, "sessions": sessions, "live": live}))
"""


def server_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "KETACARE_DEBUG": "False",
            "SECRET_KEY": os.environ.get("SECRET_KEY", secrets.token_urlsafe(48)),
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "KETACARE_SECURE_COOKIES": "False",
            "KETACARE_VAR_DIR": str(ROOT / "var" / "load"), "EMAIL_URL": "console://"}


def prepare(env: dict[str, str]) -> dict[str, list[int]]:
    subprocess.run([KETACARE, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    subprocess.run([KETACARE, "demo", "--allow-production"], env=env, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([KETACARE, "shell", "-c", IDS_SCRIPT], env=env, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_until_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the server at {base} did not come up within {timeout:.0f} s")


IDS: dict[str, list[int]] = {}


class Clinician(HttpUser):
    """A nurse or prescriber on a treatment day. Think time is short: this measures the server, not people."""

    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        self.client.get("/accounts/login/", name="login")
        token = self.client.cookies.get("csrftoken", "")
        username = "nurse" if secrets.randbelow(2) else "prescriber"
        self.client.post("/accounts/login/", {"username": username, "password": PASSWORD,
                                              "csrfmiddlewaretoken": token}, name="login",
                         headers={"Referer": self.host + "/accounts/login/"})
        self.n = 0

    def _pick(self, kind: str) -> int:
        ids = IDS[kind] or IDS["sessions"]
        self.n += 1
        return ids[self.n % len(ids)]

    @task(4)
    def home(self) -> None:
        self.client.get("/", name="home (floor)")

    @task(6)
    def board_poll(self) -> None:
        self.client.get("/treatment/board/", name="floor board poll",
                        headers={"HX-Request": "true", "HX-Target": "board-rows", "X-KetaCare-Poll": "1"})

    @task(3)
    def session_page(self) -> None:
        self.client.get(f"/treatment/sessions/{self._pick('sessions')}/", name="session page")

    @task(2)
    def vitals_write(self) -> None:
        if not IDS["live"]:
            return
        session_id = self._pick("live")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(f"/treatment/sessions/{session_id}/vitals/", {
            "systolic_mmhg": 128, "diastolic_mmhg": 82, "heart_rate_bpm": 76, "spo2_pct": 98,
            "resp_rate_per_min": 14, "moaas": 5, "csrfmiddlewaretoken": token},
            name="vitals write", headers={"Referer": self.host + "/"})

    @task(3)
    def chart(self) -> None:
        self.client.get(f"/patients/{self._pick('patients')}/", name="patient chart")

    @task(3)
    def outcomes(self) -> None:
        self.client.get(f"/outcomes/patients/{self._pick('patients')}/", name="outcomes page")

    @task(1)
    def questionnaire_entry(self) -> None:
        self.client.get(f"/measure/patients/{self._pick('patients')}/record/?instrument=gad-7",
                        name="questionnaire entry")


def percentile(entry, p: float) -> float:
    return float(entry.get_response_time_percentile(p) or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL database (a throwaway one: the demo clinic is seeded into it)")
    if urlparse(database_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the load benchmark runs against this machine only (database on 127.0.0.1)")

    env = server_env(database_url)
    IDS.update(prepare(env))
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([KETACARE, "serve", "--host", "127.0.0.1", "--port", str(args.port),
                               "--workers", str(args.workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base)
        environment = Environment(user_classes=[Clinician], host=base, events=events)
        runner = environment.create_local_runner()
        runner.start(args.users, spawn_rate=args.users)
        time.sleep(args.seconds)
        runner.quit()
        stats = environment.stats
    finally:
        server.terminate()
        server.wait(timeout=30)

    entries = {name: entry for (name, _method), entry in stats.entries.items() if name != "login"}
    floor = entries["home (floor)"].median_response_time or 1
    total = stats.total
    print(f"{args.users} users, {args.seconds:.0f} s, gunicorn {args.workers} workers, PostgreSQL")
    print(f"throughput: {total.total_rps:.1f} requests/s, {total.num_requests} requests, "
          f"{total.num_failures} failed")
    print(f"{'page':<22}{'requests':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'x floor':>9}")
    for name, entry in sorted(entries.items(), key=lambda item: item[0] != "home (floor)"):
        print(f"{name:<22}{entry.num_requests:>9}{entry.median_response_time:>8.0f}{percentile(entry, 0.95):>8.0f}"
              f"{percentile(entry, 0.99):>8.0f}{entry.median_response_time / floor:>9.2f}")
    for error in stats.errors.values():
        print(f"error: {error.method} {error.name}: {error.error} x{error.occurrences}")
    return 1 if total.num_failures else 0


if __name__ == "__main__":
    sys.exit(main())

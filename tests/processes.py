"""Real processes for the worker's tests: a database of their own, `ketacare` commands run as subprocesses.

The test database of pytest-django is an in-memory SQLite database (invisible to another process) or one that the
test's transaction hides, so these tests make their own: a SQLite file, or a new PostgreSQL database beside the test
one when the suite runs on PostgreSQL. `ProcessDb.shell(code)` runs Python in `ketacare shell` and returns the last
line it prints, parsed as JSON.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


class ProcessDb:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            s = connection.settings_dict
            self.name = f"kc_proc_{uuid.uuid4().hex[:8]}"
            self.pg = {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "user": s["USER"] or "postgres"}
            self.url = f"postgres://{self.pg['user']}@{self.pg['host']}:{self.pg['port']}/{self.name}"
        else:
            self.url = f"sqlite:///{tmp_path / 'proc.sqlite3'}"
        self.processes: list[subprocess.Popen] = []

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.pg) as admin:
            admin.execute(sql)

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "KETACARE_VAR_DIR": str(self.tmp_path / "var"),
                "KETACARE_DEBUG": "False", "DJANGO_ALLOW_ASYNC_UNSAFE": "", **extra}

    def create(self) -> "ProcessDb":
        if self.vendor == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')
        self.run("migrate", "--no-input", "-v", "0")
        return self

    def drop(self) -> None:
        for process in self.processes:
            kill(process)
        if self.vendor == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def run(self, *args: str, timeout: float = 300, **env: str) -> str:
        result = subprocess.run([sys.executable, "-m", "ketacare.manage", *args], cwd=ROOT, env=self.env(**env),
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result.stdout

    def shell(self, code: str, **env: str):
        out = self.run("shell", "-c", code, **env)
        return json.loads(out.strip().splitlines()[-1])

    def start_worker(self, name: str, **env: str) -> subprocess.Popen:
        log = (self.tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen([sys.executable, "-m", "ketacare.manage", "worker", "--worker-id", name,
                                    "--interval", "0.2", "--tick", "0.5"], cwd=ROOT, env=self.env(**env),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = self.tmp_path / f"{name}.log"
        self.processes.append(process)
        return process


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

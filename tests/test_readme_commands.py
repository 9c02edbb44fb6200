"""Every command the README shows works as written (issue 10, point 2).

The README's shell blocks are read from the README itself, so a new block fails here until it is run here:
- the block under "The `ketacare` command" runs in a "second terminal" beside `scripts/demo.sh` (what `make demo` runs),
  whose settings reach it only through the demo's `var/ketacare.env`, never through this test's environment;
- the block under "Running on PostgreSQL" runs as a server install would, on a database of its own (PostgreSQL pass
  only: the block creates a PostgreSQL database, whichever database the rest of the suite is using).

The only changes made to the text: the demo's port and the server's port become free ports, and the server's database
name becomes one of this test's own, so that a developer's running demo or database is never touched.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"^## (?P<heading>[^\n]+)\n(?P<body>(?:(?!^## ).)*)", re.S | re.M)
BESIDE_THE_DEMO = "The `ketacare` command"
SERVER_INSTALL = "Running on PostgreSQL"


def bash_blocks() -> dict[str, list[str]]:
    """{section heading: [its ```bash blocks]} for every README section that has one."""
    found = {}
    for section in BLOCK.finditer(README):
        blocks = re.findall(r"^```bash\n(.*?)^```", section["body"], re.S | re.M)
        if blocks:
            found[section["heading"].strip()] = blocks
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A new terminal's environment: no settings of this test run (pytest-env sets SECRET_KEY and KETACARE_DEBUG)."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8", **extra}


def wait_healthy(url: str, process: subprocess.Popen, *, host: str | None = None, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                assert response.status == 200 and b'"database": "ok"' in response.read()
                return
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read()[-3000:]
                raise AssertionError(f"server exited with {process.returncode}: {output}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_every_readme_shell_block_is_run_by_this_module():
    assert set(bash_blocks()) == {BESIDE_THE_DEMO, SERVER_INSTALL}, (
        "a README section with a ```bash block that tests/test_readme_commands.py does not run")
    assert len(bash_blocks()[BESIDE_THE_DEMO]) == len(bash_blocks()[SERVER_INSTALL]) == 1


def test_the_readme_commands_work_beside_make_demo(tmp_path):
    var = tmp_path / "var"
    port = free_port()
    demo = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=clean_env(tmp_path, PORT=str(port),
                            KETACARE_VAR_DIR=str(var)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", demo)
        assert (var / "ketacare.env").read_text().count("KETACARE_DEBUG=False") == 1
        # Production error pages: a missing page shows neither a traceback nor the URL list.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
        except urllib.error.HTTPError as missing:
            body = missing.read().decode()
            assert missing.code == 404 and "URLconf" not in body and "Traceback" not in body
        else:
            raise AssertionError("a missing page answered 200")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            page = r.read().decode()
            assert r.status == 200 and "Sign in" in page
        css = page.split('href="')[2].split('"')[0]  # hashed by the manifest storage, served by whitenoise
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{css}", timeout=5) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/css")
        script = bash_blocks()[BESIDE_THE_DEMO][0].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        # The second terminal shares only the install (the var directory), as a developer's second terminal would.
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True,
                                env=clean_env(tmp_path, KETACARE_VAR_DIR=str(var)), timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        out = result.stdout
        assert re.search(r"^kc_[\w-]{40,}$", out, re.M), out  # the token, printed once
        assert '"key": "phq-9"' in out or '"key":"phq-9"' in out  # the API answered the token
        assert "phq-9@" in out and "imported gad-7-cirg@" in out
        assert re.search(r"manifest.json: \d+ FHIR resources, \d+ tables, \d+ rows$", out, re.M), out
        assert re.search(r"^Content-Location: http://127.0.0.1:\d+/fhir/R4/bulkstatus/\w+", out, re.M), out
        assert "overdue time points" in out and "patient summaries" in out
        assert "SECRET_KEY" not in result.stderr
        assert re.search(r"^\d{6}$", out, re.M), out  # the demo prescriber's second-factor code
    finally:
        stop(demo)


def test_ketacare_without_the_demo_file_still_refuses_to_start_without_a_secret_key(tmp_path):
    result = subprocess.run([str(ROOT / ".venv/bin/ketacare"), "token", "create", "--user", "nurse"], cwd=ROOT,
                            capture_output=True, text=True, env=clean_env(tmp_path, KETACARE_VAR_DIR=str(tmp_path)),
                            timeout=60)
    assert result.returncode == 2
    assert "SECRET_KEY is required" in result.stderr


def test_the_demo_file_never_touches_an_install_that_brings_its_own_secret_key(tmp_path):
    (tmp_path / "ketacare.env").write_text("KETACARE_DEBUG=True\n")
    result = subprocess.run([str(ROOT / ".venv/bin/ketacare"), "check"], cwd=ROOT, capture_output=True, text=True,
                            env=clean_env(tmp_path, KETACARE_VAR_DIR=str(tmp_path), SECRET_KEY="s" * 40), timeout=60)
    assert result.returncode == 2
    assert "ALLOWED_HOSTS is required" in result.stderr  # production rules, although the file says debug


@pytest.mark.skipif(connection.vendor != "postgresql" or not shutil.which("createdb"),
                    reason="the block creates a PostgreSQL database: it runs once, in the PostgreSQL pass")
def test_the_server_install_commands_work_on_a_new_postgresql_database(tmp_path):
    settings = connection.settings_dict
    name = f"kc_readme_{uuid.uuid4().hex[:8]}"
    port = free_port()
    script = bash_blocks()[SERVER_INSTALL][0]
    script = script.replace("createdb ketacare", f"createdb {name}").replace("5432/ketacare", f"5432/{name}")
    script = script.replace("--port 8000", f"--port {port}")
    lines = script.rstrip("\n").split("\n")
    assert lines[-1].startswith(".venv/bin/ketacare serve"), "the block ends by starting the server"
    pg = {"PGHOST": settings["HOST"] or "127.0.0.1", "PGPORT": str(settings["PORT"] or 5432),
          "PGUSER": settings["USER"] or "postgres"}
    env = clean_env(tmp_path, KETACARE_VAR_DIR=str(tmp_path / "var"), **pg)
    script = "\n".join(lines[:-1]) + "\nexec " + lines[-1] + "\n"
    server = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", server, host="clinic.example.org", timeout=180)
        check = subprocess.run(["psql", "-At", "-d", name, "-c",
                                "SELECT c.code, u.username, u.role FROM core_clinic c JOIN accounts_user u "
                                "ON u.clinic_id = c.id"], env=env, capture_output=True, text=True, timeout=30)
        assert check.stdout.strip() == "bos|alice|clinic_admin", check.stdout + check.stderr
    finally:
        stop(server)
        subprocess.run(["dropdb", "--if-exists", "--force", name], env=env, capture_output=True, timeout=60)

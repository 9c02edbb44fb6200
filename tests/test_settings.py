"""Settings come from the environment; a wrong or missing value stops start-up with a message naming it."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from ketacare.core.env import email_settings

BASE_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
            "SECRET_KEY": "x" * 40, "ALLOWED_HOSTS": "clinic.example", "KETACARE_DEBUG": "False"}


def run_check(tmp_path, **overrides):
    env = {**BASE_ENV, "KETACARE_VAR_DIR": str(tmp_path), **overrides}
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "ketacare.manage", "check"], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(("overrides", "named"), [
    ({"KETACARE_DEBUG": "yes"}, "KETACARE_DEBUG"),
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ({"EMAIL_URL": "pigeon://loft"}, "EMAIL_URL"),
    ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
    ({"KETACARE_IDLE_TIMEOUT_MINUTES": "0"}, "KETACARE_IDLE_TIMEOUT_MINUTES"),
])
def test_wrong_setting_fails_at_start_naming_the_variable(tmp_path, overrides, named):
    result = run_check(tmp_path, **overrides)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_good_production_settings_pass_the_check(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr


def test_debug_install_generates_and_keeps_a_secret_key(tmp_path):
    first = run_check(tmp_path, SECRET_KEY=None, ALLOWED_HOSTS=None, KETACARE_DEBUG="True")
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    run_check(tmp_path, SECRET_KEY=None, ALLOWED_HOSTS=None, KETACARE_DEBUG="True")
    assert (tmp_path / "secret_key").read_text() == key


def test_email_url_becomes_an_smtp_mailer():
    parsed = email_settings("smtp+tls://alerts%40clinic:p%40ss@mail.clinic.example:587?from=alerts@clinic.example")
    mailer = parsed["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"]["host"] == "mail.clinic.example"
    assert mailer["OPTIONS"]["port"] == 587
    assert mailer["OPTIONS"]["username"] == "alerts@clinic"
    assert mailer["OPTIONS"]["password"] == "p@ss"
    assert mailer["OPTIONS"]["use_tls"] is True
    assert parsed["DEFAULT_FROM_EMAIL"] == "alerts@clinic.example"


def test_email_url_without_host_is_refused():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL needs a host"):
        email_settings("smtp://")


def test_makemigrations_check_runs_without_production_secrets(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KETACARE_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "ketacare.manage", "makemigrations", "--check", "--dry-run"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    assert not (tmp_path / "secret_key").exists()
    served = run_check(tmp_path, SECRET_KEY=None)  # anything else still refuses to start without SECRET_KEY
    assert served.returncode != 0 and "SECRET_KEY" in served.stderr

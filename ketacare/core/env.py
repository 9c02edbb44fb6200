"""Reading settings from the environment: every wrong value fails at start, naming its variable."""

import ipaddress
import os
import secrets
from pathlib import Path
from typing import overload
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    """Accept only `True` or `False` (any case): a typo must not silently flip a security setting."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")


def env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def env_secret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/systemd secrets)."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value and file_name:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from None
    return value or None


def trusted_networks(values: list[str], *, name: str = "KETACARE_TRUSTED_PROXIES") -> list[
        ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/24`, `::1`), each checked: a typo must not trust nobody, or
    everybody, silently."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or network (e.g. 10.0.0.5 or "
                                       "10.0.0.0/24)") from None
    return networks


def secret_key(*, debug: bool, var_dir: Path) -> str:
    """SECRET_KEY is required in production; a development/demo install keeps a generated one in var/."""
    key = env_secret("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    if not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when KETACARE_DEBUG is False (set SECRET_KEY or SECRET_KEY_FILE)"
        )
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


EMAIL_SCHEMES = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}


def email_settings(url: str, *, name: str = "EMAIL_URL") -> dict[str, object]:
    """Parse `smtp://user:password@host:port` (smtp+tls:// for STARTTLS, smtps:// for TLS, console://) into MAILERS."""
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in EMAIL_SCHEMES)}, not {url.split(':')[0]!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    mailer: dict[str, object] = {"BACKEND": EMAIL_SCHEMES[parts.scheme]}
    if parts.scheme.startswith("smtp"):
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name} needs a host, e.g. smtp://mail.example.org:587")
        mailer["OPTIONS"] = {
            "host": parts.hostname,
            "port": port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": parts.scheme == "smtp+tls",
            "use_ssl": parts.scheme == "smtps",
            "timeout": 10,
        }
    settings: dict[str, object] = {"MAILERS": {"default": mailer}}
    query = parse_qs(parts.query)
    if "from" in query:
        settings["DEFAULT_FROM_EMAIL"] = query["from"][0]
    return settings


ENV_FILE_NAME = "ketacare.env"


def load_env_file(path: Path) -> list[str]:
    """Read `NAME=value` lines from `path` into the environment, for names the environment does not set already.

    `make demo` writes `var/ketacare.env` so that every `ketacare` command run beside the demo uses the demo's settings;
    a production install has no such file (and the environment always wins). Blank lines and `#` comments are
    skipped; any other line must be `NAME=value`. Returns the names it set.
    """
    if not path.is_file():
        return []
    set_here = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not name.isupper():
            raise ImproperlyConfigured(f"{path}, line {number}: expected NAME=value, not {raw!r}")
        if name not in os.environ:
            os.environ[name] = value.strip()
            set_here.append(name)
    return set_here

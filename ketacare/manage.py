"""The `ketacare` console command: the project's manage.py (`ketacare migrate`, `ketacare demo`, `ketacare serve`)."""

import os
import sys
from pathlib import Path

# Commands that only read model definitions: they sign nothing and serve nothing, so a production install may run
# them (e.g. `ketacare makemigrations --check` in a pre-commit hook) without its secrets. Serving still needs them.
OFFLINE_COMMANDS = {"makemigrations"}


def var_dir() -> Path:
    """Where the install keeps its local state: KETACARE_VAR_DIR, else `var/` beside the package (settings agree)."""
    return Path(os.environ.get("KETACARE_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    from django.core.exceptions import ImproperlyConfigured

    from ketacare.core.env import ENV_FILE_NAME, load_env_file

    try:
        # The local demo install's settings (`make demo` writes them); the environment always wins, and an
        # environment that brings its own secret key is a configured install that the demo's file must not touch.
        if not (os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")):
            load_env_file(var_dir() / ENV_FILE_NAME)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"ketacare: configuration error: {exc}\n")
        sys.exit(2)
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS and not os.environ.get("SECRET_KEY"):
        import secrets

        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)  # ephemeral: never stored, never used to sign
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    try:
        # Import settings first: Django's command runner would otherwise hide a configuration error
        # behind "Unknown command".
        import importlib

        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"ketacare: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()

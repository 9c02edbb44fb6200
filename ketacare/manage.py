"""The `ketacare` console command: the project's manage.py (`ketacare migrate`, `ketacare demo`, `ketacare serve`)."""

import os
import sys

# Commands that only read model definitions: they sign nothing and serve nothing, so a production install may run
# them (e.g. `ketacare makemigrations --check` in a pre-commit hook) without its secrets. Serving still needs them.
OFFLINE_COMMANDS = {"makemigrations"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS and not os.environ.get("SECRET_KEY"):
        import secrets

        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)  # ephemeral: never stored, never used to sign
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    from django.core.exceptions import ImproperlyConfigured

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

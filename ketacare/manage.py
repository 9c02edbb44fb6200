"""The `ketacare` console command: the project's manage.py (`ketacare migrate`, `ketacare demo`, `ketacare serve`)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
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

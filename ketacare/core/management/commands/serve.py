"""`ketacare serve`: collect static files, then run the production server (gunicorn; whitenoise serves static)."""

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run KetaCare with gunicorn (production server)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KETACARE_WORKERS", "2")))
        parser.add_argument("--no-collectstatic", action="store_true")

    def handle(self, *args, host, port, workers, no_collectstatic, **options):
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        trusted = ",".join(str(network) for network in settings.KETACARE_TRUSTED_PROXIES)
        argv = [sys.executable, "-m", "gunicorn", "ketacare.config.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(workers), "--timeout", "60",
                # gunicorn believes X-Forwarded-Proto from the same proxies as Django does (none unless configured)
                "--forwarded-allow-ips", os.environ.get("KETACARE_FORWARDED_ALLOW_IPS", trusted)]
        self.stdout.write(f"KetaCare serving at http://{host}:{port}/ (gunicorn, {workers} workers)")
        self.stdout.flush()
        os.execv(sys.executable, argv)

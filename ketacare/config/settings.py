"""KetaCare settings: one module, everything that differs between installs comes from the environment.

Variables (see README): DATABASE_URL, SECRET_KEY / SECRET_KEY_FILE, ALLOWED_HOSTS, EMAIL_URL, KETACARE_DEBUG,
KETACARE_IDLE_TIMEOUT_MINUTES, KETACARE_LOGIN_MAX_FAILURES,
KETACARE_LOGIN_MAX_FAILURES_PER_IP, KETACARE_LOGIN_LOCKOUT_MINUTES, KETACARE_VAR_DIR, KETACARE_TRUSTED_PROXIES,
KETACARE_HSTS_SECONDS, KETACARE_TOKEN_DEFAULT_DAYS, KETACARE_TOKEN_MAX_DAYS, KETACARE_DEMO, KETACARE_MFA_ISSUER.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from ketacare.core.env import (
    email_settings,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    secret_key,
    trusted_networks,
)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PACKAGE_DIR.parent
VAR_DIR = Path(env_str("KETACARE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("KETACARE_DEBUG", False)
SECRET_KEY = secret_key(debug=DEBUG, var_dir=VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when KETACARE_DEBUG is False (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ketacare.core",
    "ketacare.accounts",
    "ketacare.audit",
    "ketacare.worker",
    "ketacare.messaging",
    "ketacare.patients",
    "ketacare.instruments",
    "ketacare.safety",
    "ketacare.screening",
    "ketacare.treatment",
    "ketacare.ledger",
    "ketacare.outcomes",
    "ketacare.interop",
    "ketacare.portal",
    "ketacare.seed",
]

MIDDLEWARE = [
    # First: the client's address and scheme from a trusted proxy's headers, or the headers are dropped.
    "ketacare.core.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ketacare.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ketacare.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ketacare.accounts.middleware.NoStoreWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ketacare.accounts.middleware.LoginRequiredMiddleware",
    "ketacare.accounts.middleware.SecondFactorMiddleware",
    "ketacare.core.middleware.DomainErrorMiddleware",
    "ketacare.core.middleware.TextInputMiddleware",
]

ROOT_URLCONF = "ketacare.config.urls"
WSGI_APPLICATION = "ketacare.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ketacare.accounts.context_processors.navigation",
                "ketacare.core.banners.banners",
            ],
            # Django's date filters, wrapped so that one implausible stored value never breaks a page.
            "builtins": ["ketacare.core.templatetags.safe_dates"],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ketacare.sqlite3'}"),
            conn_max_age=60,
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("KETACARE_DB_POOL", False):
    # Django's built-in psycopg connection pool (docs/scaling.md): persistent connections must be off with it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("KETACARE_DB_POOL_MIN", 2, minimum=0, maximum=100),
        "max_size": env_int("KETACARE_DB_POOL_MAX", 10, minimum=1, maximum=500),
        "timeout": 10,
    }
# Reports may read from a replica (ketacare.core.db.reporting_reads); in tests it mirrors the default database.
if env_str("DATABASE_REPLICA_URL"):
    try:
        DATABASES["replica"] = dj_database_url.parse(env_str("DATABASE_REPLICA_URL") or "", conn_max_age=60,
                                                     conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a usable database URL: {exc}") from None
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["ketacare.core.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Per-process memory only. "patient_pages" holds rendered patient pages (outcomes.views._patient_body): it must
# never be pointed at a shared cache server, which would copy patient data out of the process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ketacare-default"},
    "patient_pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ketacare-pages",
                      "TIMEOUT": 3600, "OPTIONS": {"MAX_ENTRIES": 500}},
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["ketacare.accounts.backends.ClinicUserBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Automatic logoff, HIPAA 164.312(a)(2)(iii) (docs/domain/privacy.md §1): the session expires after this many
# idle minutes; every request slides the window except self-refreshing page parts (IdleTimeoutMiddleware).
IDLE_TIMEOUT_MINUTES = env_int("KETACARE_IDLE_TIMEOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
LOGIN_MAX_FAILURES = env_int("KETACARE_LOGIN_MAX_FAILURES", 5, minimum=1, maximum=100)
LOGIN_MAX_FAILURES_PER_IP = env_int("KETACARE_LOGIN_MAX_FAILURES_PER_IP", 30, minimum=1, maximum=10_000)
LOGIN_LOCKOUT_MINUTES = env_int("KETACARE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60)

# The second factor (django-otp's TOTP devices; recovery codes are KetaCare's own, stored hashed): accounts/mfa.py.
OTP_TOTP_ISSUER = env_str("KETACARE_MFA_ISSUER", "KetaCare")
# Wrong codes count toward the sign-in throttle instead (accounts/throttle.py); django-otp's own per-device back-off
# would refuse a right code typed a second after a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0
# API tokens: a new token's lifetime unless `--days` says otherwise, and the longest allowed.
KETACARE_TOKEN_DEFAULT_DAYS = env_int("KETACARE_TOKEN_DEFAULT_DAYS", 90, minimum=1, maximum=365)
KETACARE_TOKEN_MAX_DAYS = env_int("KETACARE_TOKEN_MAX_DAYS", 365, minimum=1, maximum=3650)
# Proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed; from anyone else they are
# dropped (core.middleware.TrustedProxyMiddleware).
KETACARE_TRUSTED_PROXIES = trusted_networks(env_list("KETACARE_TRUSTED_PROXIES", []))
# A demo install: DEBUG stays off (production error pages), but `ketacare demo` may seed its logins.
KETACARE_DEMO = env_bool("KETACARE_DEMO", False)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("KETACARE_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Believed only from KETACARE_TRUSTED_PROXIES: the header is dropped from anyone else before Django reads it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Sent only on HTTPS responses (SecurityMiddleware): behind a trusted TLS proxy, or TLS itself.
    SECURE_HSTS_SECONDS = env_int("KETACARE_HSTS_SECONDS", 31_536_000, minimum=0, maximum=63_072_000)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("KETACARE_TIME_ZONE", "America/New_York")
USE_I18N = True
# Staff pages are in English; the patient's own pages (portal) also in Spanish (ketacare/portal/locale).
LANGUAGES = [("en", "English"), ("es", "Español")]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

for _key, _value in email_settings(env_str("EMAIL_URL", "smtp://127.0.0.1:25") or "").items():
    globals()[_key] = _value
DEFAULT_FROM_EMAIL = env_str("KETACARE_FROM_EMAIL", globals().get("DEFAULT_FROM_EMAIL", "KetaCare <noreply@localhost>"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A portal link's token is in its URL path: every log line passes through the redaction filter first.
    "filters": {"portal_tokens": {"()": "ketacare.core.logredact.RedactPortalTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["portal_tokens"]}},
    "root": {"handlers": ["console"], "level": env_str("KETACARE_LOG_LEVEL", "INFO")},
    # Request logs would carry patient ids from URLs into log files: keep Django's request logger at errors only.
    "loggers": {"django.request": {"level": "ERROR"},
                # runserver's request lines go through the redacting console handler too
                "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
                "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# Background work: Django's own tasks framework, stored in the database by django-tasks-db (no extra server on SQLite
# or PostgreSQL). `ketacare worker` runs the jobs.
# FHIR Bulk Data $export files (NDJSON), kept this many hours after kick-off (interop.bulk).
KETACARE_BULK_EXPORT_DIR = Path(env_str("KETACARE_BULK_EXPORT_DIR", str(VAR_DIR / "bulk-exports")))
KETACARE_BULK_EXPORT_HOURS = env_int("KETACARE_BULK_EXPORT_HOURS", 24, minimum=1, maximum=24 * 14)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# The scheduler's tick (how often it looks for a periodic job that is due) and the outbox's delivery policy.
KETACARE_WORKER_TICK_SECONDS = env_int("KETACARE_WORKER_TICK_SECONDS", 5, minimum=1, maximum=300)
KETACARE_MESSAGING_MAX_ATTEMPTS = env_int("KETACARE_MESSAGING_MAX_ATTEMPTS", 6, minimum=1, maximum=50)
KETACARE_MESSAGING_RETRY_BASE_SECONDS = env_int("KETACARE_MESSAGING_RETRY_BASE_SECONDS", 30, minimum=1, maximum=3600)
# A message being sent longer than this is presumed lost with its worker and is sent again (same Message-ID).
KETACARE_MESSAGING_LEASE_SECONDS = env_int("KETACARE_MESSAGING_LEASE_SECONDS", 300, minimum=1, maximum=86400)
KETACARE_MESSAGING_SWEEP_SECONDS = env_int("KETACARE_MESSAGING_SWEEP_SECONDS", 30, minimum=1, maximum=3600)
KETACARE_MESSAGING_SWEEP_GRACE_SECONDS = env_int("KETACARE_MESSAGING_SWEEP_GRACE_SECONDS", 60, minimum=0,
                                                 maximum=86400)
KETACARE_MESSAGE_ID_DOMAIN = env_str("KETACARE_MESSAGE_ID_DOMAIN", "ketacare.invalid")
# Links in messages (e.g. to an alert, behind sign-in) start with this.
KETACARE_BASE_URL = env_str("KETACARE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
KETACARE_SMS_BACKEND = env_str("KETACARE_SMS_BACKEND", "ketacare.messaging.sms.FileSmsBackend")
KETACARE_SMS_FILE = env_str("KETACARE_SMS_FILE", str(VAR_DIR / "sms-outbox.jsonl"))
KETACARE_TWILIO_ACCOUNT_SID = env_str("KETACARE_TWILIO_ACCOUNT_SID", "")
KETACARE_TWILIO_AUTH_TOKEN = env_secret("KETACARE_TWILIO_AUTH_TOKEN") or ""
KETACARE_TWILIO_FROM = env_str("KETACARE_TWILIO_FROM", "")

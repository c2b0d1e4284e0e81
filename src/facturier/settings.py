"""Django settings for Facturier.

Everything a deployment changes comes from the environment (the Configuration table of
README.md lists it): DATABASE_URL, FACTURIER_DATA_DIR, FACTURIER_SECRET_KEY, FACTURIER_DEBUG,
FACTURIER_ALLOWED_HOSTS, FACTURIER_HTTPS, FACTURIER_ADMIN, FACTURIER_TRUSTED_PROXIES,
FACTURIER_SESSION_*, FACTURIER_SMTP_*, FACTURIER_STORAGE_* and FACTURIER_CHECKPOINT_*.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from facturier.paths import DATABASE_FILE, data_dir

# Lets the admin classes be written with their generic parameters (ModelAdmin[Model]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
# Where the embedded database, archived documents and the local mailbox live: the checkout's
# var/ unless FACTURIER_DATA_DIR says otherwise (facturier.paths).
DATA_DIR = data_dir()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    # A stable key per data directory, so sessions survive restarts without configuration.
    if key := os.environ.get("FACTURIER_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("FACTURIER_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("FACTURIER_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("FACTURIER_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]
# The Django admin, for operators only (superusers without a company), is served at /admin/
# only when FACTURIER_ADMIN=1: members use the web UI (docs/web.md, Security).
FACTURIER_ADMIN = _env_bool("FACTURIER_ADMIN", False)

INSTALLED_APPS = [
    # django.contrib.admin with the operators' site (billing/admin_site.py).
    "facturier.billing.admin_app.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "csp",
    "facturier.billing",
    "facturier.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed-in sessions: signed out when idle or too old, and never cached (web/middleware.py).
    "facturier.web.middleware.SessionTimeoutMiddleware",
    "facturier.web.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Answers a sign-in stopped by the throttle (LoginThrottleBackend) with the 429 page.
    "facturier.web.throttling.LoginThrottleMiddleware",
]

ROOT_URLCONF = "facturier.urls"
WSGI_APPLICATION = "facturier.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "facturier.web.context_processors.web",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / DATABASE_FILE}"),
        conn_max_age=int(os.environ.get("FACTURIER_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at BEGIN,
    # so two writers queue on busy_timeout instead of failing on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Signed checkpoints of the audit chains (docs/invoicing.md, "Audit"): an Ed25519 private key
# that never enters the database, given as FACTURIER_CHECKPOINT_KEY (PEM, or the base64 of its
# 32 bytes) or as the file FACTURIER_CHECKPOINT_KEY_FILE (`facturier audit keygen` makes one).
# Without either, the embedded default (SQLite) makes <data dir>/checkpoint_key.pem on first
# use, beside the database (see the caveat in the docs); another database gets unsigned
# checkpoints, and `audit verify` says so. FACTURIER_CHECKPOINT_TRUSTED_KEYS lists the public
# keys (base64, comma-separated) of earlier keys whose checkpoints still count.
CHECKPOINT_KEY = os.environ.get("FACTURIER_CHECKPOINT_KEY", "").strip()
CHECKPOINT_KEY_FILE = os.environ.get("FACTURIER_CHECKPOINT_KEY_FILE", "").strip()
CHECKPOINT_KEY_CREATE = not (CHECKPOINT_KEY or CHECKPOINT_KEY_FILE) and (
    DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
)
if CHECKPOINT_KEY_CREATE:
    CHECKPOINT_KEY_FILE = str(DATA_DIR / "checkpoint_key.pem")
CHECKPOINT_TRUSTED_KEYS = [
    k.strip()
    for k in os.environ.get("FACTURIER_CHECKPOINT_TRUSTED_KEYS", "").split(",")
    if k.strip()
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Nor the name of the user's company, printed on every invoice (billing/passwords.py).
    {"NAME": "facturier.billing.passwords.CompanyNameValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Archived documents (and logos) go to an S3-compatible bucket when FACTURIER_STORAGE_BUCKET is
# set (docs/documents.md). A name already taken is never overwritten: the new file gets a
# suffixed name (file_overwrite False), as on the filesystem. Empty values fall back to
# boto3's own configuration (AWS_* variables, instance profile).
if os.environ.get("FACTURIER_STORAGE_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["FACTURIER_STORAGE_BUCKET"],
            "endpoint_url": os.environ.get("FACTURIER_STORAGE_ENDPOINT_URL") or None,
            "access_key": os.environ.get("FACTURIER_STORAGE_ACCESS_KEY") or None,
            "secret_key": os.environ.get("FACTURIER_STORAGE_SECRET_KEY") or None,
            "region_name": os.environ.get("FACTURIER_STORAGE_REGION") or None,
            "location": os.environ.get("FACTURIER_STORAGE_PREFIX", "").strip("/"),
            # "path" for servers without bucket subdomains (MinIO, Garage...); unset: boto3's.
            "addressing_style": os.environ.get("FACTURIER_STORAGE_ADDRESSING_STYLE") or None,
            "file_overwrite": False,
            "default_acl": None,  # the bucket's own policy: keep it private
            "querystring_auth": True,  # links to a stored file are signed...
            "querystring_expire": 300,  # ...and expire after five minutes
        },
    }

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

# The web UI (docs/web.md, Security). Sign-in throttling: wrong passwords are counted in the
# database (every process sees them) over a sliding window, per client address and username,
# and per client address alone; the account itself is never locked. The throttle backend comes
# first: it counts the attempt and stops it, before any password is checked, when over a limit.
AUTHENTICATION_BACKENDS = [
    "facturier.web.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_LOGIN_PER_USERNAME = 5  # wrong passwords for one username from one address
THROTTLE_LOGIN_PER_ADDRESS = 25  # wrong passwords from one address, whatever the usernames
THROTTLE_PASSWORD_CHANGE = 5  # wrong current passwords on the password-change form, per user
# How many reverse proxies in front of the app append to X-Forwarded-For: the client's address
# is the one that many hops from its right (facturier/core/addresses.py). 0: REMOTE_ADDR, and
# the header, which anyone can write, is ignored.
FACTURIER_TRUSTED_PROXIES = max(0, int(os.environ.get("FACTURIER_TRUSTED_PROXIES", "0")))
# Cookies: never readable from scripts, never sent by cross-site requests; Secure when the
# site is served over HTTPS (FACTURIER_HTTPS=1, behind a proxy setting X-Forwarded-Proto).
HTTPS = _env_bool("FACTURIER_HTTPS", False)
# A session ends FACTURIER_SESSION_IDLE_MINUTES after its last request, and at the latest
# FACTURIER_SESSION_MAX_HOURS after signing in, however active (web/middleware.py).
FACTURIER_SESSION_IDLE_MINUTES = int(os.environ.get("FACTURIER_SESSION_IDLE_MINUTES", "240"))
SESSION_COOKIE_AGE = int(os.environ.get("FACTURIER_SESSION_MAX_HOURS", "12")) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: scripts, styles, images and requests only from this site; no
# inline script (chart data travels in json_script blocks), nothing may frame the pages.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# A line whose amount excl. VAT is above this asks the person typing it to confirm (a 1e10
# or a misplaced decimal mark is caught before an invoice is made of it). 0 turns it off.
LINE_CONFIRM_ABOVE = Decimal(os.environ.get("FACTURIER_LINE_CONFIRM_ABOVE", "1000000"))

# Mail (docs/mail.md): SMTP when FACTURIER_SMTP_HOST is set; otherwise the embedded mailbox,
# kept in the database (`facturier mail list --mailbox`), that nothing leaves.
DEFAULT_FROM_EMAIL = os.environ.get("FACTURIER_MAIL_FROM", "facturier@localhost")
if os.environ.get("FACTURIER_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["FACTURIER_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("FACTURIER_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("FACTURIER_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("FACTURIER_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = _env_bool("FACTURIER_SMTP_STARTTLS", True)
    EMAIL_USE_SSL = _env_bool("FACTURIER_SMTP_SSL", False)
    EMAIL_TIMEOUT = int(os.environ.get("FACTURIER_SMTP_TIMEOUT", "30"))
else:
    EMAIL_BACKEND = "facturier.mail.backends.MailboxBackend"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Facturier API",
    "DESCRIPTION": "Recurring invoicing: customers, invoices, payments.",
    "VERSION": "0.1.0",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FACTURIER_LOG_LEVEL", "WARNING")},
}

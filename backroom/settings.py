"""Django settings, read from the environment.

DATABASE_URL     database to use (default: SQLite file under BACKROOM_HOME)
BACKROOM_HOME    folder for the SQLite file and the generated secret key
                 (default: ./backroom-data)
BACKROOM_SECRET_KEY  signing key; generated and kept under BACKROOM_HOME when unset
BACKROOM_DEBUG   "1" turns on Django's debug mode
BACKROOM_ALLOWED_HOSTS  comma-separated host names (default: *)
BACKROOM_SMTP_HOST, BACKROOM_SMTP_PORT, BACKROOM_SMTP_USER, BACKROOM_SMTP_PASSWORD,
BACKROOM_SMTP_TLS, BACKROOM_SMTP_SSL, BACKROOM_MAIL_FROM  outgoing mail for customer
                 notices; without a host the notices are written to the log
"""

import os
from pathlib import Path
from typing import Any

from backroom.configuration import (
    database_parse,
    home_create,
    home_folder,
    mail_settings,
    secret_key,
    switch,
)

BASE_DIR = Path(__file__).resolve().parent
HOME = home_folder()
SECRET_KEY = secret_key(HOME)
DEBUG = switch("BACKROOM_DEBUG")
ALLOWED_HOSTS = os.environ.get("BACKROOM_ALLOWED_HOSTS", "*").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Serves Swagger's own files for /api/v1/docs, so the page works offline.
    "ninja",
    "backroom.core",
    "backroom.accounts",
    "backroom.catalog",
    "backroom.customers",
    "backroom.sales",
    "backroom.purchasing",
    "backroom.replay",
    "backroom.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise serves /static/ from STATIC_ROOT before any other middleware runs.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backroom.web.middleware.RejectNulCharacter",
    "backroom.web.middleware.DatabaseLostOnScreen",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "backroom.urls"
WSGI_APPLICATION = "backroom.wsgi.application"

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
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        home_create(HOME)
        url = f"sqlite:///{HOME / 'backroom.sqlite3'}"
    # Each server worker keeps its connection for up to 60 s, so a request does not
    # connect again (PostgreSQL) or reopen the file with an empty page cache (SQLite).
    # The health check replaces a PostgreSQL connection that the server has closed.
    config = database_parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock when a transaction starts, so two
        # terminals never both read and then fail to upgrade to a write.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["TEST"] = {"NAME": os.environ.get("BACKROOM_TEST_DB_NAME") or None}
        return config
    # Django's backend, with each transaction begun by its first statement.
    config["ENGINE"] = "backroom.core.postgresql"
    if os.environ.get("BACKROOM_TEST_DB_NAME"):
        # Lets several test runs share one PostgreSQL server without clashing.
        config["TEST"] = {"NAME": os.environ["BACKROOM_TEST_DB_NAME"]}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

# The sales screen posts about seven fields per line, so Django's default of 1,000
# fields stopped an order at about 140 lines with a bare "Bad Request" page.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("BACKROOM_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"
# Gzip copies are made at collectstatic time. File names stay unhashed, so pages render
# even when collectstatic has not run (as in the tests), and WhiteNoise sends a
# 60-second max-age, which lets browsers see new files soon after an upgrade.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

globals().update(mail_settings())
DEFAULT_FROM_EMAIL = os.environ.get("BACKROOM_MAIL_FROM", "store@backroom.invalid")
# Ready notices are sent after the commit from a background thread; False sends
# them in the request's own thread (the tests do, to read them at once).
BACKROOM_NOTICES_IN_BACKGROUND = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "backroom": {"handlers": ["console"], "level": "INFO"},
        # Server errors (500) with their tracebacks, also when debug mode is off.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

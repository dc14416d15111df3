"""Checks of the environment variables that the settings read.

Each check raises ImproperlyConfigured with one line that names the variable, its
value and what to change. The `backroom` program prints that line without a
traceback, and so does gunicorn serving backroom.wsgi.
"""

import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

DEFAULT_HOME = "backroom-data"
SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRESQL_ENGINE = "django.db.backends.postgresql"
URL_FORMS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"
# The password between "USER:" and "@", hidden in messages.
URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def home_folder() -> Path:
    """Return the absolute path of the data folder, BACKROOM_HOME or ./backroom-data.

    The folder may be missing, since home_create makes it where it is needed.
    Raise ImproperlyConfigured when the path exists and is not a folder.
    """
    home = Path(os.environ.get("BACKROOM_HOME") or DEFAULT_HOME).resolve()
    if home.exists() and not home.is_dir():
        raise ImproperlyConfigured(
            f"{_home_label(home)} is a file, not a folder. Set BACKROOM_HOME to a folder for "
            "Backroom's data; a folder that does not exist yet is created.")
    return home


def home_create(home: Path) -> None:
    """Create the data folder and its missing parents; raise ImproperlyConfigured when
    that fails."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocking_file = next(
            (parent for parent in home.parents if parent.exists() and not parent.is_dir()), None)
        reason = (f"{blocking_file} is a file" if blocking_file is not None
                  else error.strerror or str(error))
        raise ImproperlyConfigured(
            f"{_home_label(home)}: the folder cannot be created ({reason}). Set "
            "BACKROOM_HOME to a folder you may write, or create that folder first.") from None


def _home_label(home: Path) -> str:
    value = os.environ.get("BACKROOM_HOME")
    if not value:
        return f"The data folder {home} (BACKROOM_HOME is not set)"
    if Path(value) != home:
        return f"BACKROOM_HOME={value} ({home})"
    return f"BACKROOM_HOME={value}"


def secret_key(home: Path) -> str:
    """Return BACKROOM_SECRET_KEY, else the key kept in the data folder, generated and
    written there on first use."""
    key = os.environ.get("BACKROOM_SECRET_KEY")
    if key:
        return key
    path = home / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        home_create(home)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
    except OSError as error:
        raise ImproperlyConfigured(
            f"The secret key file {path} cannot be read or written ({error.strerror or error}). "
            "Set BACKROOM_HOME to a folder you may write, or set BACKROOM_SECRET_KEY.") from None
    return key


def database_parse(url: str, **options: Any) -> dict[str, Any]:
    """Parse DATABASE_URL with dj-database-url, passing it `options`.

    Raise ImproperlyConfigured unless the URL names a PostgreSQL database, or an
    SQLite file in a folder that exists.
    """
    label = "DATABASE_URL=" + URL_PASSWORD.sub(r"\1***@", url)
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, **options))
    except dj_database_url.UnknownSchemeError:
        config = {}
    except ValueError:
        raise ImproperlyConfigured(
            f"{label} is not a valid URL. Check that the port is a number and that special "
            "characters in the user name and password are percent-encoded (%40 for @), as "
            "in postgresql://USER:PASSWORD@HOST:PORT/NAME.") from None
    engine = config.get("ENGINE")
    if engine not in (SQLITE_ENGINE, POSTGRESQL_ENGINE):
        scheme, separator, _ = url.partition("://")
        problem = (f"names a database that Backroom does not support (scheme '{scheme}')"
                   if separator and scheme else "is not a database URL")
        raise ImproperlyConfigured(f"{label} {problem}. Give {URL_FORMS}.")
    if engine == POSTGRESQL_ENGINE:
        if not config["NAME"] and "service" not in config.get("OPTIONS", {}):
            raise ImproperlyConfigured(
                f"{label} names no database. Add its name after the last slash, as in "
                "postgresql://USER@HOST:PORT/NAME.")
        return config
    _sqlite_path_check(label, url, config["NAME"])
    return config


def _sqlite_path_check(label: str, url: str, name: str) -> None:
    if name == ":memory:":
        # Only the URL sqlite://:memory: selects an in-memory database on purpose, because
        # dj-database-url also reads sqlite:// and sqlite:/// as one.
        if url != "sqlite://:memory:":
            raise ImproperlyConfigured(
                f"{label} names no file. Give sqlite:///PATH, such as "
                "sqlite:///backroom-data/backroom.sqlite3.")
        return
    path = Path(name).resolve()
    if path.is_dir():
        raise ImproperlyConfigured(
            f"{label} names the folder {path}, not a file. Give the path of the database "
            f"file, such as sqlite:///{path / 'backroom.sqlite3'}.")
    if not path.parent.is_dir():
        problem = "is a file" if path.parent.exists() else "does not exist"
        raise ImproperlyConfigured(
            f"{label} names a file in the folder {path.parent}, which {problem}. Create the "
            "folder, or give a path in a folder that exists.")


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


def switch(name: str) -> bool:
    """Read the on/off environment variable `name` (1, true, yes, on or 0, false, no, off,
    in any case; unset is off)."""
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={value} is invalid. Give 1, true, yes or on to switch it on, or 0, false, "
        "no or off (or leave it unset) to switch it off.")


def mail_settings() -> dict[str, Any]:
    """Return Django's e-mail settings from the BACKROOM_SMTP_* variables: an SMTP server
    when BACKROOM_SMTP_HOST is set, else the console."""
    # Every variable is checked, with or without a host, so a mistake shows at once.
    use_ssl = switch("BACKROOM_SMTP_SSL")
    use_tls = switch("BACKROOM_SMTP_TLS")
    if use_ssl and use_tls:
        raise ImproperlyConfigured(
            "BACKROOM_SMTP_SSL and BACKROOM_SMTP_TLS are both on. Switch on SSL for a server "
            "that expects TLS from the start (port 465), or TLS for one that upgrades the "
            "connection with STARTTLS (port 587), not both.")

    default_port = "465" if use_ssl else "25"
    port_value = os.environ.get("BACKROOM_SMTP_PORT", "")
    port_text = port_value.strip() or default_port
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ImproperlyConfigured(
            f"BACKROOM_SMTP_PORT={port_value!r} is invalid. Give the mail server's port, a "
            "whole number from 1 to 65535 (often 25, 465 or 587).")

    host = os.environ.get("BACKROOM_SMTP_HOST", "").strip()
    if not host:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": host,
        "EMAIL_PORT": int(port_text),
        "EMAIL_HOST_USER": os.environ.get("BACKROOM_SMTP_USER", ""),
        "EMAIL_HOST_PASSWORD": os.environ.get("BACKROOM_SMTP_PASSWORD", ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": 10,
    }

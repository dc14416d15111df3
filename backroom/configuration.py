"""Checks of the environment variables that the settings read.

Each check raises ImproperlyConfigured with one line that names the variable, its
value and what to change. The `backroom` program prints that line without a
traceback, and so does gunicorn serving backroom.wsgi.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEFAULT_HOME = "backroom-data"


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

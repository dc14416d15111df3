"""Read a new account's password from a file or from the terminal."""

import getpass
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def password_from_file(path: str) -> str:
    """Read a one-line password file and drop one trailing newline (LF or CRLF)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(
            f"Password file '{path}' not found. Give the path of an existing file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read password file '{path}': {error}.") from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise CommandError(
            f"Password file '{path}' is empty. Write the password on its first line.")
    if "\n" in password or "\r" in password:
        raise CommandError(
            f"Password file '{path}' has more than one line. Write the password alone on "
            "one line.")
    return password


def password_prompt(username: str) -> str:
    """Ask for the password twice without echoing it."""
    try:
        first = getpass.getpass(f"Password for {username}: ")
        second = getpass.getpass(f"Password for {username} (again): ")
    except EOFError:
        raise CommandError(
            "No password given because standard input is closed. Pass --password-file FILE, "
            "or run the command in a terminal.") from None
    except KeyboardInterrupt:
        raise CommandError("Cancelled, so nothing was changed.") from None
    if first != second:
        raise CommandError("The two passwords differ. Run the command again.")
    if not first:
        raise CommandError("The password is empty. Run the command again and type one.")
    return first


def password_check(password: str, source: str) -> None:
    """Apply the store's password rules (AUTH_PASSWORD_VALIDATORS) before anything is written."""
    try:
        validate_password(password)
    except ValidationError as error:
        raise CommandError(
            f"The password {source} is rejected: {' '.join(error.messages)} "
            "Choose a longer or less common password.") from None


def password_read(username: str, password_file: str | None) -> str:
    """Return a checked password from `password_file`, or typed in when no file is given."""
    if password_file:
        password = password_from_file(password_file)
        password_check(password, f"in '{password_file}'")
        return password
    password = password_prompt(username)
    password_check(password, "typed in")
    return password

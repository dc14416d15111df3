"""The `backroom` command line.

Every subcommand is a Django management command run with Backroom's
settings. An app adds one by adding a module to its own
`management/commands/` folder, and `backroom --help` then lists it.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version

SETTINGS_MODULE = "backroom.settings"


def main(argv: list[str] | None = None) -> None:
    """Run one management command given on the command line, or print the usage."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE

    if arguments and arguments[0] == "--version":
        print(f"backroom {_package_version()}")
        return
    problem = settings_problem()
    if problem is not None:
        sys.exit(f"backroom: {problem}")
    if not arguments or arguments[0] in ("-h", "--help") or arguments == ["help"]:
        print(usage())
        return
    if arguments == ["help", "--all"]:
        # Django's own `help` without arguments lists every command, Django's included.
        arguments = ["help"]

    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["backroom", *arguments])
    finally:
        from backroom.sales.notices import EXIT_GRACE_SECONDS, ready_notices_wait

        # Ready notices go out from a background thread; give it time to finish. What it
        # cannot send in time, backroom remind sends later.
        ready_notices_wait(timeout=EXIT_GRACE_SECONDS)


def settings_problem() -> str | None:
    """Load the settings; return the message of the environment variable they reject,
    or None."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        # Reading a setting imports backroom.settings, which checks the environment.
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as error:
        return str(error)
    return None


def usage() -> str:
    """Describe the Backroom commands, one line each, from their `help` texts."""
    import django
    from django.core.management import get_commands

    django.setup()
    commands = sorted(
        (name, app) for name, app in get_commands().items() if app.startswith("backroom."))
    width = max((len(name) for name, _ in commands), default=0)
    lines = [
        "usage: backroom COMMAND [options]",
        "",
        "Backroom, the order desk for independent retail stores.",
        "",
        "Commands:",
    ]
    for name, app in commands:
        lines.append(f"  {name.ljust(width)}  {_summary(app, name)}")
    lines += [
        "",
        "Run 'backroom COMMAND --help' for the options of one command.",
        "Django's management commands (migrate, shell, dbshell, ...) work as well, and "
        "'backroom help --all' lists them.",
        "",
        "Settings come from the environment: DATABASE_URL (default: an SQLite file under "
        "BACKROOM_HOME),",
        "BACKROOM_HOME (default: ./backroom-data), BACKROOM_SECRET_KEY (default: generated "
        "under BACKROOM_HOME)",
        "and BACKROOM_DEBUG.",
    ]
    return "\n".join(lines)


def _summary(app: str, name: str) -> str:
    from django.core.management import load_command_class

    try:
        text = load_command_class(app, name).help
    except ImportError as error:
        return f"(cannot be loaded: {error})"
    return text.strip().splitlines()[0] if text.strip() else ""


def _package_version() -> str:
    try:
        return version("backroom")
    except PackageNotFoundError:
        return "(not installed)"


if __name__ == "__main__":
    main()

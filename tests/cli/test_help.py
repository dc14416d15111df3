import pytest

BACKROOM_COMMANDS = ["demo", "init", "serve", "token", "user"]


def test_help_lists_each_command_with_summary(run_backroom_without_database):
    result = run_backroom_without_database("--help")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("usage: backroom")
    for name in BACKROOM_COMMANDS:
        rows = [line.split(None, 1) for line in lines if line.startswith(f"  {name} ")]
        assert len(rows) == 1, f"'{name}' is not listed once in:\n{result.stdout}"
        assert len(rows[0]) == 2, f"'{name}' has no summary"


def test_help_of_one_command_shows_its_options(run_backroom_without_database):
    result = run_backroom_without_database("init", "--help")

    assert result.returncode == 0, result.stderr
    assert "--password-file" in result.stdout
    assert "--username" in result.stdout


@pytest.mark.parametrize("arguments", [[], ["help"], ["-h"]])
def test_usage_without_command(run_backroom_without_database, arguments):
    result = run_backroom_without_database(*arguments)

    assert result.returncode == 0, result.stderr
    assert "  serve " in result.stdout


def test_unknown_command_fails(run_backroom_without_database):
    result = run_backroom_without_database("no-such-command")

    assert result.returncode != 0
    assert "Unknown command: 'no-such-command'" in result.stderr

"""`backroom`, `./start` and the WSGI server with a BACKROOM_HOME or DATABASE_URL they
cannot use: one line that names the value, and no traceback."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
URL_FORMS = "Give sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME."
COMMANDS = [("init", "--password-file", "password.txt"), ("replay", "log.csv.gz"),
            ("import", "items", "items.csv"), ("serve", "--port", "8999")]
COMMAND_IDS = ["init", "replay", "import", "serve"]


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("arguments", COMMANDS, ids=COMMAND_IDS)
def test_home_that_is_file_rejected(run_backroom_with, tmp_path, arguments):
    home = tmp_path / "home.txt"
    home.write_text("not a folder\n")

    message = _one_line_error(run_backroom_with({"BACKROOM_HOME": str(home)}, *arguments))

    assert message.startswith(f"backroom: BACKROOM_HOME={home} is a file, not a folder. ")
    assert "Set BACKROOM_HOME to a folder" in message


@pytest.mark.parametrize("arguments", COMMANDS, ids=COMMAND_IDS)
def test_home_that_cannot_be_created_rejected(run_backroom_with, tmp_path, arguments):
    blocking_file = tmp_path / "home.txt"
    blocking_file.write_text("not a folder\n")
    home = blocking_file / "backroom"

    message = _one_line_error(run_backroom_with({"BACKROOM_HOME": str(home)}, *arguments))

    assert message.startswith(f"backroom: BACKROOM_HOME={home}: the folder cannot be created "
                              f"({blocking_file} is a file). ")


def test_relative_home_named_with_its_path(run_backroom_with, tmp_path):
    (tmp_path / "home.txt").write_text("not a folder\n")

    message = _one_line_error(run_backroom_with({"BACKROOM_HOME": "home.txt"}, "init"))

    assert f"BACKROOM_HOME=home.txt ({tmp_path / 'home.txt'}) is a file" in message


DATABASE_URLS = [
    ("mysql2://shop:Secret-9@127.0.0.1/store",
     "DATABASE_URL=mysql2://shop:***@127.0.0.1/store names a database that Backroom does not "
     f"support (scheme 'mysql2'). {URL_FORMS}"),
    ("foo://", f"DATABASE_URL=foo:// names a database that Backroom does not support "
               f"(scheme 'foo'). {URL_FORMS}"),
    ("backroom.sqlite3", f"DATABASE_URL=backroom.sqlite3 is not a database URL. {URL_FORMS}"),
    ("postgresql://shop:Secret-9@127.0.0.1:port/store",
     "DATABASE_URL=postgresql://shop:***@127.0.0.1:port/store is not a valid URL. Check that "
     "the port is a number"),
    ("postgresql://shop@127.0.0.1/", "DATABASE_URL=postgresql://shop@127.0.0.1/ names no "
                                     "database."),
    ("sqlite:///", "DATABASE_URL=sqlite:/// names no file."),
    ("sqlite:///missing/backroom.sqlite3",
     "DATABASE_URL=sqlite:///missing/backroom.sqlite3 names a file in the folder "
     "{tmp_path}/missing, which does not exist. Create the folder"),
    ("sqlite:///.", "DATABASE_URL=sqlite:///. names the folder {tmp_path}, not a file."),
]


@pytest.mark.parametrize(("url", "words"), DATABASE_URLS, ids=[
    "unsupported scheme", "unknown scheme", "no scheme", "port not a number", "no database name",
    "no sqlite path", "no sqlite folder", "sqlite folder"])
@pytest.mark.parametrize("arguments", COMMANDS, ids=COMMAND_IDS)
def test_database_url_rejected(run_backroom_with, tmp_path, arguments, url, words):
    message = _one_line_error(run_backroom_with({"DATABASE_URL": url}, *arguments))

    assert words.format(tmp_path=tmp_path) in message
    assert "Secret-9" not in message


MAIL_VARIABLES = [
    ({"BACKROOM_SMTP_PORT": "smtp"}, "BACKROOM_SMTP_PORT='smtp' is invalid"),
    ({"BACKROOM_SMTP_PORT": "70000"}, "BACKROOM_SMTP_PORT='70000' is invalid"),
    ({"BACKROOM_SMTP_TLS": "maybe"}, "BACKROOM_SMTP_TLS=maybe is invalid"),
    ({"BACKROOM_SMTP_TLS": "True", "BACKROOM_SMTP_SSL": "on"},
     "BACKROOM_SMTP_SSL and BACKROOM_SMTP_TLS are both on"),
    ({"BACKROOM_DEBUG": "ture"}, "BACKROOM_DEBUG=ture is invalid"),
]


@pytest.mark.parametrize(("variables", "words"), MAIL_VARIABLES, ids=[
    "port not a number", "port too high", "tls not a switch", "ssl and tls", "debug typo"])
@pytest.mark.parametrize("host", ["127.0.0.1", ""], ids=["with host", "without host"])
def test_mail_settings_rejected(run_backroom_with, variables, words, host):
    environment = {"BACKROOM_SMTP_HOST": host, **variables}

    message = _one_line_error(run_backroom_with(environment, "init", "--password-file",
                                                "password.txt"))

    assert words in message


def test_start_rejects_home_that_is_file(tmp_path):
    # A copy of ./start, so that nothing is installed into the repository's .venv
    # if the check comes too late.
    shutil.copy(REPOSITORY / "start", tmp_path / "start")
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPOSITORY / ".ci" / "venv.sh", tmp_path / ".ci" / "venv.sh")
    home = tmp_path / "home.txt"
    home.write_text("not a folder\n")

    result = subprocess.run(["bash", str(tmp_path / "start")], env={"PATH": "/usr/bin:/bin",
                            "BACKROOM_HOME": str(home)}, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)

    assert result.returncode == 1
    assert result.stderr.startswith(f"BACKROOM_HOME={home} is a file, not a folder. ")
    assert not (tmp_path / ".venv").exists()


@pytest.mark.parametrize(("option", "example"), [("--port", "8000"), ("--workers", "2")])
def test_start_option_without_value_rejected(tmp_path, option, example):
    shutil.copy(REPOSITORY / "start", tmp_path / "start")
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPOSITORY / ".ci" / "venv.sh", tmp_path / ".ci" / "venv.sh")

    result = subprocess.run(["bash", str(tmp_path / "start"), "--host", "127.0.0.1", option],
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)

    assert result.returncode == 2
    assert result.stderr == (f"Option '{option}' needs a value, as in ./start {option} "
                             f"{example}.\n")
    assert not (tmp_path / ".venv").exists()


def test_wsgi_server_rejects_home_that_is_file(cli_env, tmp_path):
    home = tmp_path / "home.txt"
    home.write_text("not a folder\n")
    # Gunicorn 25.1 and later would otherwise open a control socket under ~/.gunicorn.
    config = tmp_path / "gunicorn.conf.py"
    config.write_text("control_socket_disable = True\n")

    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "backroom.wsgi:application",
         "--config", str(config), "--bind", "127.0.0.1:0", "--workers", "1"],
        env={**cli_env, "BACKROOM_HOME": str(home)}, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path)

    assert result.returncode == 4, result.stderr
    assert f"backroom: BACKROOM_HOME={home} is a file, not a folder. " in result.stderr
    assert "App failed to load" in result.stderr
    assert "Traceback" not in result.stderr

"""Commands run on a database that `backroom init` has not set up."""

import gzip
import os

import pytest

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def test_replay_asks_for_init_first(run_backroom, tmp_path):
    source = tmp_path / "one.csv.gz"
    source.write_bytes(gzip.compress((
        HEADER + "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    ).encode(), mtime=0))

    result = run_backroom("replay", str(source), "-v", "0")

    assert result.returncode == 1
    assert "is not set up" in result.stderr
    assert "backroom init" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_asks_for_init_first(run_backroom, tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("sku,description,price\nMUG-1,Mug,2.55\n")

    result = run_backroom("import", "items", str(items))

    assert result.returncode == 1
    assert "is not set up" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("arguments", [("remind",), ("token", "create", "owner")],
                         ids=["remind", "token"])
def test_command_asks_for_init_first(run_backroom, arguments):
    result = run_backroom(*arguments)

    assert result.returncode == 1
    assert "is not set up" in result.stderr
    assert "backroom init" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="an SQLite file is what the command must not leave behind")
@pytest.mark.parametrize("arguments", [
    ("import", "items", "ITEMS"),
    ("user", "create", "carl", "--role", "clerk", "--password-file", "PASSWORD"),
    ("serve", "--port", "8391"),
    ("demo",),
], ids=["import", "user", "serve", "demo"])
def test_command_leaves_no_sqlite_file(run_backroom_with, tmp_path, arguments):
    home = tmp_path / "store"
    items = tmp_path / "items.csv"
    items.write_text("sku,description,price\nMUG-1,Mug,2.55\n")
    password = tmp_path / "password.txt"
    password.write_text("shelf-Ledger-2026\n")
    paths = {"ITEMS": str(items), "PASSWORD": str(password)}

    result = run_backroom_with({"BACKROOM_HOME": str(home)},
                               *[paths.get(argument, argument) for argument in arguments])

    assert result.returncode == 1
    assert "does not exist, so the store is not set up here" in result.stderr
    assert "backroom init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "backroom.sqlite3").exists()

"""Fixtures of the replay and import tests: the online-retail file and its raw rows."""

import csv
import gzip
import os
from pathlib import Path

import pytest
from django.conf import settings

DATA_ENV = "BACKROOM_RETAIL_DATA"
REPO = Path(__file__).resolve().parents[2]


def retail_file() -> Path:
    """The online-retail file: $BACKROOM_RETAIL_DATA, else ../shared/data beside the repo."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured)
    return REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"


@pytest.fixture
def retail_path() -> Path:
    path = retail_file()
    if not path.is_file():
        pytest.skip(f"the online-retail file {path} is absent; set {DATA_ENV} to its path")
    return path


def raw_invoices(path: Path, count: int) -> list[list[dict[str, str]]]:
    """Read the first `count` invoices as blocks of raw CSV rows, with the csv module alone."""
    blocks: list[list[dict[str, str]]] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        for row in csv.DictReader(text):
            if blocks and blocks[-1][0]["InvoiceNo"] == row["InvoiceNo"]:
                blocks[-1].append(row)
                continue
            if len(blocks) == count:
                break
            blocks.append([row])
    return blocks


@pytest.fixture
def retail_invoices(retail_path):
    """A function returning the first N invoices of the file as raw row blocks."""
    return lambda count: raw_invoices(retail_path, count)


@pytest.fixture
def quiet_mail():
    """Send the replay's ready notices nowhere, as the replay command does."""
    previous = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    yield
    settings.EMAIL_BACKEND = previous


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the fixture users' passwords cheaply; these tests never log in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

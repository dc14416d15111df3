import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from backroom.accounts.models import ROLES
from backroom.accounts.services import user_create, user_role
from backroom.core.models import StoreSettings
from backroom.customers.models import Customer

pytestmark = pytest.mark.usefixtures("static_root")


def _init(*args: str) -> str:
    out = StringIO()
    call_command("init", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_init_creates_owner_and_store(password_file, good_password):
    output = _init("--username", "olga", "--password-file", str(password_file))

    owner = User.objects.get(username="olga")
    assert user_role(owner) == "owner"
    assert owner.check_password(good_password)
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert StoreSettings.objects.filter(pk=1).exists()
    assert Customer.objects.filter(is_walk_in=True).count() == 1
    assert "created the owner account 'olga'" in output


@pytest.mark.django_db
def test_init_twice_changes_nothing(password_file, good_password, tmp_path):
    _init("--password-file", str(password_file))
    other_password = tmp_path / "other.txt"
    other_password.write_text("another-Secret-77\n")
    counts = (User.objects.count(), Group.objects.count(), Customer.objects.count())

    output = _init("--password-file", str(other_password))

    assert output.startswith("Nothing to change")
    assert (User.objects.count(), Group.objects.count(), Customer.objects.count()) == counts
    assert User.objects.get(username="owner").check_password(good_password)


@pytest.mark.django_db
def test_init_strips_crlf_from_password_file(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"crlf-Line-End-42\r\n")

    _init("--password-file", str(path))

    assert User.objects.get(username="owner").check_password("crlf-Line-End-42")


@pytest.mark.django_db
def test_init_rejects_missing_password_file(tmp_path):
    missing = tmp_path / "missing.txt"

    with pytest.raises(CommandError, match=re.escape(f"Password file '{missing}' not found")):
        _init("--password-file", str(missing))

    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "message"), [
    ("short\n", "too short"),
    ("password123\n", "too common"),
    ("\n", "is empty"),
    ("first-Line-Pass-1\nsecond\n", "more than one line"),
])
def test_init_rejects_bad_password_file(tmp_path, content, message):
    path = tmp_path / "password.txt"
    path.write_text(content)

    with pytest.raises(CommandError, match=message) as raised:
        _init("--password-file", str(path))

    assert str(path) in str(raised.value)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_init_rejects_user_with_other_role(roles, password_file, good_password):
    user_create(username="carl", role="clerk", password=good_password)

    with pytest.raises(CommandError, match="User 'carl' already exists with role clerk"):
        _init("--username", "carl", "--password-file", str(password_file))

    assert user_role(User.objects.get(username="carl")) == "clerk"


def test_init_asks_password_then_changes_nothing(run_backroom, password_file, good_password):
    first = run_backroom("init", input=f"{good_password}\n{good_password}\n")
    second = run_backroom("init", "--password-file", str(password_file))

    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    assert "created the owner account 'owner'" in first.stdout
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Nothing to change")


def test_init_rejects_differing_passwords(run_backroom, good_password):
    result = run_backroom("init", input=f"{good_password}\nsomething-Else-99\n")

    assert result.returncode == 1
    assert "The two passwords differ" in result.stderr


def test_init_without_password_or_terminal_fails(run_backroom):
    result = run_backroom("init", input="")

    assert result.returncode == 1
    assert "--password-file" in result.stderr

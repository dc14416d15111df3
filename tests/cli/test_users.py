from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from backroom.accounts.models import ROLES
from backroom.accounts.services import user_role


def _user_create(*args: str) -> str:
    out = StringIO()
    call_command("user", "create", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_user_create_with_role(password_file, good_password, role):
    output = _user_create(f"{role}-1", "--role", role, "--password-file", str(password_file))

    user = User.objects.get(username=f"{role}-1")
    assert user_role(user) == role
    assert user.check_password(good_password)
    assert output.strip() == f"Created user '{role}-1' with role {role}."


@pytest.mark.django_db
def test_user_create_rejects_unknown_role(password_file):
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        _user_create("bob", "--role", "boss", "--password-file", str(password_file))

    assert not User.objects.filter(username="bob").exists()


@pytest.mark.django_db
def test_user_create_rejects_taken_name(roles, password_file):
    _user_create("carl", "--role", "clerk", "--password-file", str(password_file))

    with pytest.raises(CommandError, match="User 'carl' already exists"):
        _user_create("carl", "--role", "manager", "--password-file", str(password_file))

    assert user_role(User.objects.get(username="carl")) == "clerk"


@pytest.mark.django_db
def test_user_create_rejects_weak_password(tmp_path):
    path = tmp_path / "weak.txt"
    path.write_text("abc\n")

    with pytest.raises(CommandError, match="too short"):
        _user_create("carl", "--role", "clerk", "--password-file", str(path))

    assert not User.objects.filter(username="carl").exists()


def test_user_create_bad_role_exits_with_usage(run_backroom_without_database, password_file):
    result = run_backroom_without_database(
        "user", "create", "bob", "--role", "boss", "--password-file", str(password_file))

    assert result.returncode == 2
    assert "invalid choice: 'boss'" in result.stderr


def test_user_create_asks_password(run_backroom_initialised, good_password):
    result = run_backroom_initialised("user", "create", "maria", "--role", "manager",
                          input=f"{good_password}\n{good_password}\n")

    assert result.returncode == 0, result.stderr
    assert "Created user 'maria' with role manager." in result.stdout

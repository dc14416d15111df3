from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backroom.accounts.services import token_authenticate


@pytest.mark.django_db
def test_token_create_prints_working_token_last(clerk):
    out = StringIO()

    call_command("token", "create", clerk.username, "--label", "till 2", stdout=out)

    last_line = out.getvalue().splitlines()[-1]
    assert token_authenticate(last_line) == clerk
    assert clerk.api_tokens.get().name == "till 2"


@pytest.mark.django_db
def test_token_create_rejects_unknown_user():
    with pytest.raises(CommandError, match="User 'nobody' not found"):
        call_command("token", "create", "nobody", stdout=StringIO())


@pytest.mark.django_db
def test_token_create_rejects_inactive_user(clerk):
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])

    with pytest.raises(CommandError, match="deactivated"):
        call_command("token", "create", clerk.username, stdout=StringIO())

    assert not clerk.api_tokens.exists()


def test_token_create_last_line_is_token_alone(run_backroom_initialised):
    result = run_backroom_initialised("token", "create", "owner")

    assert result.returncode == 0, result.stderr
    last_line = result.stdout.rstrip("\n").splitlines()[-1]
    assert last_line.startswith("br_")
    assert last_line == last_line.strip()
    assert " " not in last_line

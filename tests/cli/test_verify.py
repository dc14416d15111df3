from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backroom.catalog.models import Item


@pytest.mark.django_db
def test_verify_passes_on_consistent_store(waiting_order):
    out = StringIO()

    call_command("verify", stdout=out)

    assert "agree" in out.getvalue()


@pytest.mark.django_db
def test_verify_lists_broken_rule(waiting_order, scarf):
    Item.objects.filter(pk=scarf.pk).update(reserved=5, on_hand=5)
    out = StringIO()

    with pytest.raises(CommandError, match="^1 rule broken"):
        call_command("verify", stdout=out)

    assert f"item {scarf.sku}" in out.getvalue()

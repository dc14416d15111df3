"""The audit log's batched write, on the real database."""

import datetime
from decimal import Decimal

import pytest

from backroom.core.audit import AuditLog
from backroom.core.models import Event


def test_flush_writes_every_event_in_order(owner, card, scarf, waiting_order):
    audit = AuditLog(owner)
    for number in range(2500):
        audit.add("counted", order=waiting_order if number % 2 else None,
                  item=card if number % 3 else scarf.pk, number=number,
                  amount=Decimal(number) / 100, lines=[{"sku": "CARD", "units": number}],
                  note="café №1")

    audit.flush()

    events = list(Event.objects.filter(action="counted").order_by("pk"))
    assert [event.detail["number"] for event in events] == list(range(2500))
    assert events[7].detail == {"number": 7, "amount": "0.07",
                                "lines": [{"sku": "CARD", "units": 7}], "note": "café №1"}
    assert [(event.order_id, event.item_id) for event in events[:3]] == [
        (None, scarf.pk), (waiting_order.pk, card.pk), (None, card.pk)]
    assert {event.user_id for event in events} == {owner.pk}
    assert len({event.at for event in events}) == 1
    assert audit.events == []


def test_flush_rejects_value_without_json_form(owner, card):
    audit = AuditLog(owner)
    audit.add("counted", item=card, at=datetime.date(2026, 1, 2))

    with pytest.raises(TypeError, match="date value"):
        audit.flush()
    assert not Event.objects.filter(action="counted").exists()


def test_flush_without_events_writes_nothing(owner):
    before = Event.objects.count()

    AuditLog(owner).flush()

    assert Event.objects.count() == before

"""The pure decision functions, without a database."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backroom.allocation.decide import (
    TIER_NOT_ON_PO,
    TIER_OTHER,
    TIER_THIS_PO_LINE,
    Claim,
    LineRequest,
    allocate,
    decide_lines,
    receivable_quantity,
)

T0 = datetime(2026, 1, 1, 9, 0)


def claim(request_id, quantity, tier=TIER_NOT_ON_PO, priority=0, minutes=0):
    return Claim(request_id=request_id, quantity=quantity, tier=tier, priority=priority,
                 created_at=T0 + timedelta(minutes=minutes))


def test_sales_order_reserves_shelf_and_back_orders_rest():
    decisions, shortages = decide_lines("sales_order", [LineRequest(1, 3)], {1: 1})

    assert shortages == []
    assert decisions[0].reserve == 1
    assert decisions[0].back_order == 2
    assert decisions[0].deliver == 0


def test_take_now_line_delivers_available_units():
    decisions, _ = decide_lines("sales_order", [LineRequest(1, 3, take_now=True)], {1: 2})

    assert decisions[0].deliver == 2
    assert decisions[0].back_order == 1


def test_sale_reports_shortage():
    decisions, shortages = decide_lines("sale", [LineRequest(7, 2)], {7: 1})

    assert shortages[0].item_id == 7
    assert shortages[0].requested == 2
    assert shortages[0].available == 1


def test_special_order_orders_every_unit_even_in_stock():
    decisions, _ = decide_lines("special_order", [LineRequest(1, 4)], {1: 100})

    assert decisions[0].back_order == 4
    assert decisions[0].reserve == 0


def test_same_item_lines_share_shelf():
    decisions, _ = decide_lines("sales_order", [LineRequest(1, 2), LineRequest(1, 2)], {1: 3})

    assert decisions[0].reserve == 2
    assert decisions[1].reserve == 1
    assert decisions[1].back_order == 1


def test_untracked_item_is_never_back_ordered():
    decisions, shortages = decide_lines("sales_order", [LineRequest(1, 5, tracked=False)], {})

    assert shortages == []
    assert decisions[0].reserve == 5


def test_negative_available_counts_as_empty_shelf():
    decisions, _ = decide_lines("layaway", [LineRequest(1, 2)], {1: -3})

    assert decisions[0].back_order == 2


@given(
    order_type=st.sampled_from(["sale", "sales_order", "special_order", "layaway",
                                "custom_order"]),
    lines=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 20), st.booleans()),
                   min_size=1, max_size=6),
    shelf=st.dictionaries(st.integers(1, 3), st.integers(0, 30)),
)
def test_decisions_account_for_every_unit_and_never_oversell(order_type, lines, shelf):
    requests = [LineRequest(item, quantity, take_now=take_now)
                for item, quantity, take_now in lines]

    decisions, shortages = decide_lines(order_type, requests, shelf)

    used: dict[int, int] = {}
    for request, decision in zip(requests, decisions, strict=True):
        taken = decision.deliver + decision.reserve
        used[request.item_id] = used.get(request.item_id, 0) + taken
        if order_type == "sale":
            assert decision.back_order == 0
        else:
            assert taken + decision.back_order == request.quantity
    for item_id, units in used.items():
        assert units <= shelf.get(item_id, 0)
    if order_type == "sale":
        assert (shortages == []) == all(
            d.deliver == r.quantity for r, d in zip(requests, decisions, strict=True))


def test_allocate_follows_tier_order():
    claims = [claim(1, 1, TIER_OTHER, minutes=0), claim(2, 1, TIER_NOT_ON_PO, minutes=1),
              claim(3, 1, TIER_THIS_PO_LINE, minutes=2)]

    allocations, left = allocate(2, claims)

    assert [a.request_id for a in allocations] == [3, 2]
    assert left == 0


def test_allocate_priority_goes_before_age():
    claims = [claim(1, 2, minutes=0), claim(2, 2, priority=5, minutes=10)]

    allocations, _ = allocate(3, claims)

    assert allocations[0].request_id == 2
    assert allocations[0].quantity == 2
    assert allocations[1].request_id == 1
    assert allocations[1].quantity == 1


def test_allocate_oldest_first_within_a_tier():
    claims = [claim(5, 1, minutes=30), claim(9, 1, minutes=5), claim(2, 1, minutes=20)]

    allocations, _ = allocate(2, claims)

    assert [a.request_id for a in allocations] == [9, 2]


def test_allocate_returns_leftover_for_stock():
    allocations, left = allocate(5, [claim(1, 2)])

    assert allocations[0].quantity == 2
    assert left == 3


def test_allocate_respects_max_tier():
    allocations, left = allocate(3, [claim(1, 2, TIER_OTHER)], max_tier=TIER_NOT_ON_PO)

    assert allocations == []
    assert left == 3


def test_allocate_rejects_negative_units():
    with pytest.raises(ValueError, match="-1"):
        allocate(-1, [])


@given(units=st.integers(0, 50),
       quantities=st.lists(st.tuples(st.integers(0, 10), st.sampled_from([0, 1, 2]),
                                     st.integers(-2, 2)), max_size=10))
def test_allocate_conserves_units(units, quantities):
    claims = [claim(index, quantity, tier, priority, minutes=index)
              for index, (quantity, tier, priority) in enumerate(quantities)]

    allocations, left = allocate(units, claims)

    given_out = sum(a.quantity for a in allocations)
    assert given_out + left == units
    assert given_out == min(units, sum(c.quantity for c in claims))
    by_id = {c.request_id: c for c in claims}
    for allocation in allocations:
        assert 0 < allocation.quantity <= by_id[allocation.request_id].quantity


@pytest.mark.parametrize(("ordered", "received", "tolerance", "expected"), [
    (10, 0, 0, 10),
    (10, 0, 10, 11),
    (10, 4, 10, 7),
    (10, 11, 10, 0),
    (5, 0, 10, 5),
    (5, 0, 20, 6),
])
def test_receivable_quantity(ordered, received, tolerance, expected):
    assert receivable_quantity(ordered, received, tolerance) == expected

"""Pure decisions over plain values: what to hand over, reserve, back-order, allocate.

Nothing here touches the database, so every rule can be tested on its own.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# Order types as plain strings, so this module does not import the models.
SALE = "sale"
SALES_ORDER = "sales_order"
SPECIAL_ORDER = "special_order"
LAYAWAY = "layaway"
CUSTOM_ORDER = "custom_order"
ORDERED_FROM_VENDOR = {SPECIAL_ORDER, CUSTOM_ORDER}


@dataclass(frozen=True)
class LineRequest:
    """A line's units to decide, with what the counter asked for it."""

    item_id: int
    quantity: int
    tracked: bool = True
    take_now: bool = False


@dataclass(frozen=True)
class LineDecision:
    deliver: int = 0
    reserve: int = 0
    back_order: int = 0


@dataclass(frozen=True)
class Shortage:
    item_id: int
    requested: int
    available: int


def decide_lines(order_type: str, lines: Sequence[LineRequest],
                 available: dict[int, int]) -> tuple[list[LineDecision], list[Shortage]]:
    """Split each line's units into hand over now, reserve and back-order.

    `available` maps item id to units free to sell; lines of the same item
    share them in line order. A sale must deliver everything, so its
    shortages come back as `Shortage` rows and the caller rejects the sale.
    Special and custom orders order every unit from the vendor.
    """
    free = dict(available)
    decisions: list[LineDecision] = []
    shortages: list[Shortage] = []
    for line in lines:
        if order_type in ORDERED_FROM_VENDOR:
            decisions.append(LineDecision(back_order=line.quantity))
            continue
        if not line.tracked:
            if order_type == SALE or line.take_now:
                decisions.append(LineDecision(deliver=line.quantity))
            else:
                decisions.append(LineDecision(reserve=line.quantity))
            continue

        on_shelf = max(free.get(line.item_id, 0), 0)
        taken = min(line.quantity, on_shelf)
        free[line.item_id] = on_shelf - taken
        missing = line.quantity - taken
        if order_type == SALE:
            if missing:
                shortages.append(Shortage(line.item_id, line.quantity, on_shelf))
            decisions.append(LineDecision(deliver=taken))
        elif line.take_now:
            decisions.append(LineDecision(deliver=taken, back_order=missing))
        else:
            decisions.append(LineDecision(reserve=taken, back_order=missing))
    return decisions, shortages


# Tiers of the allocation order: requests on the PO line being received,
# then customer requests on no PO yet, then everything else that waits.
TIER_THIS_PO_LINE = 0
TIER_NOT_ON_PO = 1
TIER_OTHER = 2


@dataclass(frozen=True)
class Claim:
    """Waiting purchase request that could take some of the units on offer."""

    request_id: int
    quantity: int
    tier: int
    priority: int
    created_at: datetime


@dataclass(frozen=True)
class Allocation:
    request_id: int
    quantity: int


def allocate(units: int, claims: Iterable[Claim],
             max_tier: int = TIER_OTHER) -> tuple[list[Allocation], int]:
    """Share `units` among claims: by tier, then higher priority, then oldest.

    Returns the allocations and the units left over for stock. Claims of a
    tier above `max_tier` take nothing.
    """
    if units < 0:
        raise ValueError(f"units must not be negative, got {units}")
    ranked = sorted(
        (claim for claim in claims if claim.tier <= max_tier and claim.quantity > 0),
        key=lambda claim: (claim.tier, -claim.priority, claim.created_at, claim.request_id),
    )
    allocations: list[Allocation] = []
    left = units
    for claim in ranked:
        if left == 0:
            break
        given = min(left, claim.quantity)
        allocations.append(Allocation(claim.request_id, given))
        left -= given
    return allocations, left


def receivable_quantity(ordered: int, received: int, tolerance_percent: Decimal | int) -> int:
    """Return how many more units a PO line accepts, over-receipt tolerance included."""
    extra = int(ordered * tolerance_percent // 100)
    return max(ordered + extra - received, 0)

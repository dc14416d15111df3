"""Row locks on items. Every service that changes stock, a reservation, a
back order or a purchase request of an item holds that item's lock first.

Items are always locked in primary-key order, so two transactions that need
the same items queue instead of deadlocking.
"""

from collections.abc import Iterable

from backroom.catalog.models import Item
from backroom.core.sql import ids_in, ids_value, model_rows


def lock_items(item_ids: Iterable[int]) -> dict[int, Item]:
    """Lock these items (in pk order) and return them freshly read, by id."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    items = model_rows(Item, ids_in('"id"'), [ids_value(ids)], lock=True)
    return {item.pk: item for item in items}

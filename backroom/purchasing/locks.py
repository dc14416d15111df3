"""Row locks on purchase orders, taken after the item locks."""

from backroom.core.errors import NotFound
from backroom.purchasing.models import PurchaseOrder


def lock_purchase_order(number: str) -> PurchaseOrder:
    po = (PurchaseOrder.objects.select_for_update().select_related("vendor")
          .filter(number=number).first())
    if po is None:
        raise NotFound(f"Purchase order '{number}' not found; check the number.",
                       field="number", number=number)
    return po

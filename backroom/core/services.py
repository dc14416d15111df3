"""Store settings."""

from decimal import Decimal
from typing import Any

from django.db import transaction

from backroom.accounts.permissions import require
from backroom.core.audit import AuditLog
from backroom.core.errors import ValidationFailed, shown
from backroom.core.models import StoreSettings

PERCENT_FIELDS = ("deposit_percent", "minimum_deposit_percent", "over_receipt_tolerance_percent")
CASH_STEPS = [Decimal(step) for step in ("0.00", "0.01", "0.05", "0.10", "0.25", "0.50", "1.00")]


def settings_validate(changes: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    for name in PERCENT_FIELDS:
        value = changes.get(name)
        if value is not None and not Decimal(0) <= value <= Decimal(100):
            errors.append({"field": name, "message": f"{value} is out of range; give 0 to 100."})
    tax_rate = changes.get("tax_rate")
    if tax_rate is not None and not Decimal(0) <= tax_rate <= Decimal(100):
        errors.append({"field": "tax_rate",
                       "message": f"Tax rate {tax_rate} is out of range; give 0 to 100."})
    rounding = changes.get("cash_rounding")
    if rounding is not None and rounding not in CASH_STEPS:
        errors.append({"field": "cash_rounding", "message":
                       f"Cash rounding {rounding} is not a coin step; give one of "
                       f"{', '.join(str(step) for step in CASH_STEPS)} (0 for none)."})
    currency = changes.get("currency")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()
                                     and currency.isupper()):
        errors.append({"field": "currency", "message":
                       f"Currency '{shown(currency)}' is invalid; give an ISO 4217 code such "
                       "as USD."})
    days = changes.get("ready_reminder_days")
    if days is not None and not 0 <= days <= 365:
        errors.append({"field": "ready_reminder_days",
                       "message": f"{days} days is out of range; give 0 to 365."})
    return errors


@transaction.atomic
def settings_update(*, user, changes: dict[str, Any]) -> StoreSettings:
    require(user, "manage_settings", "change the store settings")
    errors = settings_validate(changes)
    if errors:
        raise ValidationFailed(errors[0]["message"], errors=errors)
    StoreSettings.load()
    store = StoreSettings.objects.select_for_update().get(pk=1)
    proposed = changes.get("deposit_percent", store.deposit_percent)
    minimum = changes.get("minimum_deposit_percent", store.minimum_deposit_percent)
    if minimum > proposed:
        raise ValidationFailed(
            f"The minimum deposit {minimum}% is above the proposed deposit {proposed}%; "
            "lower the minimum or raise the proposed deposit.", field="minimum_deposit_percent")
    audit = AuditLog(user)
    before = {name: getattr(store, name) for name in changes}
    for name, value in changes.items():
        setattr(store, name, value)
    store.save(update_fields=list(changes))
    audit.add("settings_changed", before=before, after=changes)
    audit.flush()
    # Read back as stored: "0.5" comes back as 0.50, with the column's decimal places.
    store.refresh_from_db()
    return store

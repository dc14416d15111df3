from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from backroom.api.schemas import Money, Percent
from backroom.core import services
from backroom.core.models import StoreSettings

router = Router(tags=["settings"])


class SettingsPatch(Schema):
    currency: str | None = None
    deposit_percent: Percent | None = None
    minimum_deposit_percent: Percent | None = None
    tax_rate: Percent | None = None
    cash_rounding: Money | None = None
    over_receipt_tolerance_percent: Percent | None = None
    ready_reminder_days: int | None = None


def settings_dict(store: StoreSettings) -> dict[str, Any]:
    return {
        "currency": store.currency,
        "deposit_percent": str(store.deposit_percent.normalize()),
        "minimum_deposit_percent": str(store.minimum_deposit_percent.normalize()),
        "tax_rate": str(store.tax_rate.normalize()),
        "cash_rounding": str(store.cash_rounding),
        "over_receipt_tolerance_percent": str(store.over_receipt_tolerance_percent.normalize()),
        "ready_reminder_days": store.ready_reminder_days,
    }


@router.get("/settings", response=dict, summary="The store settings")
def settings_get(request: HttpRequest) -> dict[str, Any]:
    return settings_dict(StoreSettings.load())


@router.patch("/settings", response=dict, summary="Change store settings")
def settings_patch(request: HttpRequest, payload: SettingsPatch) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True)
    return settings_dict(services.settings_update(user=request.user, changes=changes))

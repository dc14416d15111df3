from typing import Any

from django.http import HttpRequest
from ninja import Router
from pydantic import StrictInt

from backroom.api.schemas import ChangeBody, Money, Percent
from backroom.core import services
from backroom.core.models import StoreSettings
from backroom.core.money import format_percent

router = Router(tags=["settings"])


class SettingsPatch(ChangeBody):
    currency: str | None = None
    deposit_percent: Percent | None = None
    minimum_deposit_percent: Percent | None = None
    tax_rate: Percent | None = None
    cash_rounding: Money | None = None
    over_receipt_tolerance_percent: Percent | None = None
    ready_reminder_days: StrictInt | None = None


def settings_dict(store: StoreSettings) -> dict[str, Any]:
    return {
        "currency": store.currency,
        "deposit_percent": format_percent(store.deposit_percent),
        "minimum_deposit_percent": format_percent(store.minimum_deposit_percent),
        "tax_rate": format_percent(store.tax_rate),
        "cash_rounding": str(store.cash_rounding),
        "over_receipt_tolerance_percent": format_percent(store.over_receipt_tolerance_percent),
        "ready_reminder_days": store.ready_reminder_days,
    }


@router.get("/settings", response=dict, summary="The store settings")
def settings_get(request: HttpRequest) -> dict[str, Any]:
    return settings_dict(StoreSettings.load())


@router.patch("/settings", response=dict, summary="Change store settings")
def settings_patch(request: HttpRequest, payload: SettingsPatch) -> dict[str, Any]:
    return settings_dict(services.settings_update(user=request.user, changes=payload.changes()))

from django.apps import AppConfig


class PurchasingConfig(AppConfig):
    name = "backroom.purchasing"
    label = "purchasing"

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "backroom.sales"
    label = "sales"

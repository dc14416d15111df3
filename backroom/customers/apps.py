from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "backroom.customers"
    label = "customers"

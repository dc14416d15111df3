from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "backroom.catalog"
    label = "catalog"

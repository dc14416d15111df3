from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backroom.core"
    label = "core"

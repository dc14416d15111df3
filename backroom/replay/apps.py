from django.apps import AppConfig


class ReplayConfig(AppConfig):
    name = "backroom.replay"
    label = "replay"

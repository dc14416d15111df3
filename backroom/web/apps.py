from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "backroom.web"
    label = "web"

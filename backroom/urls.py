from django.urls import include, path

from backroom.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("backroom.web.urls")),
]

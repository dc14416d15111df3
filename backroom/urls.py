from django.urls import include, path, re_path

from backroom.api.api import api
from backroom.api.problems import not_found

urlpatterns = [
    path("api/v1/", api.urls),
    re_path(r"^api/", not_found),
    path("", include("backroom.web.urls")),
]

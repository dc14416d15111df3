"""The REST API v1: one NinjaAPI with a router per app and problem+json errors."""

from django.db import DatabaseError, InterfaceError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from backroom.api import problems
from backroom.api.auth import BearerToken
from backroom.catalog.api import router as catalog_router
from backroom.core.api import router as settings_router
from backroom.core.errors import BackroomError
from backroom.customers.api import router as customers_router
from backroom.purchasing.api import router as purchasing_router
from backroom.sales.api import router as sales_router

api = NinjaAPI(
    title="Backroom API",
    version="1",
    description="Orders, back orders, purchasing and receiving for a retail store.",
    auth=BearerToken(),
    urls_namespace="api-v1",
)

api.add_exception_handler(BackroomError, problems.on_backroom_error)  # type: ignore[arg-type]
api.add_exception_handler(ValidationError, problems.on_validation_error)  # type: ignore[arg-type]
api.add_exception_handler(AuthenticationError, problems.on_authentication_error)  # type: ignore[arg-type]
api.add_exception_handler(HttpError, problems.on_http_error)  # type: ignore[arg-type]
api.add_exception_handler(DatabaseError, problems.on_database_error)  # type: ignore[arg-type]
api.add_exception_handler(InterfaceError, problems.on_database_error)  # type: ignore[arg-type]
api.add_exception_handler(UnicodeEncodeError, problems.on_unencodable_text)  # type: ignore[arg-type]

api.add_router("", catalog_router)
api.add_router("", customers_router)
api.add_router("", sales_router)
api.add_router("", purchasing_router)
api.add_router("", settings_router)

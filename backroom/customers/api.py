from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router
from pydantic import Field, StrictBool

from backroom.api.idempotency import idempotent
from backroom.api.pagination import paginate
from backroom.api.schemas import ChangeBody, PathId, QueryInt, RequestBody
from backroom.core.money import format_money
from backroom.customers import services
from backroom.customers.models import Customer
from backroom.sales.models import OrderStatus

router = Router(tags=["customers"])

OPEN_STATUSES = [OrderStatus.ON_HOLD, OrderStatus.WAITING, OrderStatus.READY]


class CustomerIn(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    notify: StrictBool = True


class CustomerPatch(ChangeBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    notify: StrictBool | None = None


def customer_dict(customer: Customer, with_orders: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": customer.pk,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "notify": customer.notify,
        "store_credit": format_money(customer.store_credit),
    }
    if with_orders:
        orders = customer.orders.filter(status__in=OPEN_STATUSES).order_by("-id")
        data["open_orders"] = [
            {"number": order.number, "type": order.type, "status": order.status,
             "total": str(order.total), "paid": str(order.paid),
             "balance": str(order.total - order.paid)}
            for order in orders
        ]
    return data


@router.post("/customers", response={201: dict}, summary="Create a customer")
@idempotent(201)
def customer_create(request: HttpRequest, payload: CustomerIn) -> dict[str, Any]:
    return customer_dict(services.customer_create(**payload.model_dump()), with_orders=True)


@router.get("/customers", response=dict, summary="List or search customers")
def customer_list(request: HttpRequest, q: str = "", limit: QueryInt | None = None,
                  cursor: str | None = None) -> dict[str, Any]:
    customers = Customer.objects.filter(is_walk_in=False)
    if q.strip():
        customers = customers.filter(Q(name__icontains=q.strip()) | Q(email__iexact=q.strip())
                                     | Q(phone__icontains=q.strip()))
    return paginate(customers, keys=[("id", False)], limit=limit, cursor=cursor,
                    render=lambda rows: [customer_dict(customer) for customer in rows])


@router.get("/customers/{customer_id}", response=dict,
            summary="A customer with open orders and store credit")
def customer_detail(request: HttpRequest, customer_id: PathId) -> dict[str, Any]:
    return customer_dict(services.customer_get(customer_id), with_orders=True)


@router.patch("/customers/{customer_id}", response=dict,
              summary="Change a customer's name, contact details or notify setting")
def customer_patch(request: HttpRequest, customer_id: PathId,
                   payload: CustomerPatch) -> dict[str, Any]:
    customer = services.customer_update(customer_id=customer_id, **payload.changes())
    return customer_dict(customer, with_orders=True)

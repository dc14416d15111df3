"""Sign-in, sign-out and the home screen."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from backroom.sales.models import Order, OrderStatus
from backroom.web.views.common import page


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


login = LoginView.as_view()
logout = auth_views.LogoutView.as_view()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    counts = {
        status: Order.objects.filter(status=status).count()
        for status in (OrderStatus.WAITING, OrderStatus.READY, OrderStatus.ON_HOLD)
    }
    return page(request, {"counts": counts}, "web/home.html")

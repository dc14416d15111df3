from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from backroom.core.errors import BackroomError
from backroom.core.management.database import database_errors, require_database_ready
from backroom.core.management.demo_store import MARKER_SKU, demo_store_create, demo_store_exists


class Command(BaseCommand):
    help = "Fill the store with demo vendors, items, customers, orders and purchase orders."

    def handle(self, *args, **options) -> None:
        require_database_ready()
        with database_errors():
            if demo_store_exists():
                self.stdout.write(
                    f"The demo store is already there (item '{MARKER_SKU}' exists), so nothing "
                    "was added.")
                return
            owner = User.objects.filter(groups__name="owner", is_active=True).order_by("pk").first()
            if owner is None:
                raise CommandError(
                    "No active owner account found. Run 'backroom init' to create one first.")
            try:
                demo = demo_store_create(owner)
            except BackroomError as error:
                raise CommandError(
                    f"The demo store could not be added, and nothing was saved: {error.detail} "
                    "Run 'backroom demo' on a new, empty store.") from None

        self.stdout.write(f"Added the demo store, acting as the owner '{owner.username}':")
        for label, number in demo.orders.items():
            self.stdout.write(f"  order {number}: {label}")
        for state, number in demo.purchase_orders.items():
            self.stdout.write(f"  purchase order {number}: {state}")

from django.core.management.base import BaseCommand

from backroom.core.management.database import require_database_ready
from backroom.sales.notices import ready_notices_catch_up, ready_reminders_send


class Command(BaseCommand):
    help = ("E-mail the ready notices that have not gone out (a failed send, or consent "
            "given later), then a reminder for ready orders not collected within the store's "
            "reminder days.")

    def handle(self, *args, **options) -> None:
        require_database_ready()
        due, notified = ready_notices_catch_up()
        if due:
            self.stdout.write(f"Sent {notified} of {due} ready notices that had not gone out.")
        sent = ready_reminders_send()
        self.stdout.write(f"Reminded {len(sent)} orders: {', '.join(sent) or 'none'}")

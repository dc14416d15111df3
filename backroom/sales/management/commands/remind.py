from django.core.management.base import BaseCommand

from backroom.core.management.database import require_database_ready
from backroom.sales.notices import ready_reminders_send


class Command(BaseCommand):
    help = "E-mail a reminder for ready orders not collected within the store's reminder days."

    def handle(self, *args, **options) -> None:
        require_database_ready()
        sent = ready_reminders_send()
        self.stdout.write(f"Reminded {len(sent)} orders: {', '.join(sent) or 'none'}")

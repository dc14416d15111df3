from django.core.management.base import BaseCommand, CommandError

from backroom.core.management.database import require_database_ready
from backroom.sales.notices import ready_notices_catch_up, ready_reminders_send


class Command(BaseCommand):
    help = ("E-mail the ready notices that never went out (a failed send, or one still "
            "queued when its server stopped), then a reminder for ready orders not collected "
            "within the store's reminder days. Exits with status 1 when a send failed.")

    def handle(self, *args, **options) -> None:
        require_database_ready()
        due, notified = ready_notices_catch_up()
        if due:
            self.stdout.write(f"Sent {notified} of {due} ready notices that had not gone out.")
        sent, failed = ready_reminders_send()
        self.stdout.write(f"Reminded {len(sent)} orders: {', '.join(sent) or 'none'}")
        if notified < due or failed:
            raise CommandError(
                f"{due - notified + failed} e-mails failed; the log gives each error. "
                "Check the mail server settings (BACKROOM_SMTP_*), then run backroom remind "
                "again: it retries them.")

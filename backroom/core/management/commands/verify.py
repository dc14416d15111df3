from django.core.management.base import BaseCommand, CommandError

from backroom.core.invariants import invariant_violations
from backroom.core.management.database import require_database_ready


class Command(BaseCommand):
    help = ("Check that stock, reservations, back orders, purchase requests and order totals "
            "agree with each other; exit with status 1 and list what disagrees if they do not.")

    def handle(self, *args, **options) -> None:
        require_database_ready()
        violations = invariant_violations()
        if violations:
            for violation in violations:
                self.stdout.write(violation)
            count = f"{len(violations)} rule{'s' if len(violations) > 1 else ''}"
            raise CommandError(
                f"{count} broken, listed above. Nothing was changed. Restore the database from "
                "a backup or correct the rows, and report the list.")
        self.stdout.write("Stock, reservations, back orders, purchase requests and order "
                          "totals agree.")

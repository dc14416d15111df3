from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import ngettext

from backroom.accounts.management.passwords import password_read
from backroom.accounts.models import ROLES
from backroom.accounts.services import roles_ensure, user_create, user_role
from backroom.core.errors import BackroomError
from backroom.core.management.database import (
    database_errors,
    database_label,
    pending_migrations,
    static_files_collect,
)
from backroom.core.models import StoreSettings
from backroom.customers.models import Customer
from backroom.customers.services import walk_in_customer


class Command(BaseCommand):
    help = "Create or migrate the database and set up the store and its owner account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="owner",
                            help="login name of the owner account (default: owner)")
        parser.add_argument(
            "--password-file", metavar="FILE",
            help="read the owner's password from FILE, alone on one line. Without it the "
                 "password is asked twice. An existing owner keeps its password.")

    def handle(self, *args, username: str, password_file: str | None, **options) -> None:
        username = username.strip()
        if not username:
            raise CommandError("The --username value is empty. Give the owner's login name.")
        with database_errors():
            # The password is read and checked before migrating, so a bad password
            # file or a typo at the prompt leaves the database untouched.
            password = None
            if password_file or not self._user_exists(username):
                password = password_read(username, password_file)
            changes = self._database_migrate()
            owner = User.objects.filter(username=username).first()
            if owner is not None and user_role(owner) != "owner":
                raise CommandError(
                    f"User '{username}' already exists with role {user_role(owner) or 'none'}. "
                    "Give another --username for the owner account.")
            changes += self._store_set_up()
            if owner is None:
                password = password or password_read(username, None)
                changes.append(self._owner_create(username, password))
        copied = static_files_collect()
        if copied:
            changes.append(f"collected {copied} static files")

        if not changes:
            self.stdout.write(
                f"Nothing to change: Backroom is already set up in the {database_label()}. "
                f"The owner '{username}' exists and its password is unchanged.")
            return
        for change in changes:
            self.stdout.write(f"- {change}")
        self.stdout.write(self.style.SUCCESS(
            f"Backroom is set up in the {database_label()}. Start it with 'backroom serve'."))

    def _user_exists(self, username: str) -> bool:
        if User._meta.db_table not in connection.introspection.table_names():
            return False
        return User.objects.filter(username=username).exists()

    def _database_migrate(self) -> list[str]:
        pending = pending_migrations()
        if not pending:
            return []
        call_command("migrate", interactive=False, verbosity=0)
        migrations = ngettext("%d database migration", "%d database migrations", pending)
        return [f"applied {migrations % pending} to the {database_label()}"]

    @transaction.atomic
    def _store_set_up(self) -> list[str]:
        """Create the role groups, the store settings row and the walk-in customer if absent."""
        changes = []
        existing_roles = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
        roles_ensure()
        if existing_roles != set(ROLES):
            missing = [role for role in ROLES if role not in existing_roles]
            changes.append(f"created the roles {', '.join(missing)}")
        if not StoreSettings.objects.exists():
            StoreSettings.load()
            changes.append("created the store settings with their defaults")
        if not Customer.objects.filter(is_walk_in=True).exists():
            customer = walk_in_customer()
            changes.append(f"created the walk-in customer '{customer.name}'")
        return changes

    def _owner_create(self, username: str, password: str) -> str:
        try:
            user_create(username=username, role="owner", password=password)
        except BackroomError as error:
            raise CommandError(error.detail) from None
        return f"created the owner account '{username}'"

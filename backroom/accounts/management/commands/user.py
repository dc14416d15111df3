from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backroom.accounts.management.passwords import password_read
from backroom.accounts.models import ROLES
from backroom.accounts.services import user_create
from backroom.core.errors import BackroomError
from backroom.core.management.database import database_errors, require_database_ready


class Command(BaseCommand):
    help = "Create a user account with a role (owner, manager, supervisor or clerk)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="create a user", description="Create a user account with a role.")
        create.add_argument("username", metavar="NAME", help="the new user's login name")
        create.add_argument("--role", required=True, choices=ROLES,
                            help="the role whose permissions the user gets")
        create.add_argument(
            "--password-file", metavar="FILE",
            help="read the password from FILE, alone on one line. Without it the password is "
                 "asked twice.")
        create.add_argument("--email", default="", help="the user's e-mail address")

    def handle(self, *args, action: str, username: str, role: str,
               password_file: str | None, email: str, **options) -> None:
        require_database_ready()
        # Checked before the prompt as well, so nobody types a password for nothing.
        with database_errors():
            if User.objects.filter(username=username.strip()).exists():
                raise CommandError(f"User '{username}' already exists. Choose another name.")
        password = password_read(username, password_file)
        with database_errors():
            try:
                user = user_create(username=username, role=role, password=password, email=email)
            except BackroomError as error:
                raise CommandError(error.detail) from None
        self.stdout.write(f"Created user '{user.username}' with role {role}.")

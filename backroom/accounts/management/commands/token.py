from django.core.management.base import BaseCommand, CommandError, CommandParser

from backroom.accounts.services import token_create, user_get
from backroom.core.errors import BackroomError
from backroom.core.management.database import database_errors, require_database_ready


class Command(BaseCommand):
    help = "Create an API token for a user and print it alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="create a token",
            description="Create an API token that acts with the user's permissions.")
        create.add_argument("username", metavar="NAME", help="the user the token acts for")
        create.add_argument("--label", default="", help="a note stored with the token, to tell "
                                                        "several tokens of one user apart")

    def handle(self, *args, action: str, username: str, label: str, **options) -> None:
        if len(label) > 100:
            raise CommandError(f"The label has {len(label)} characters. Give at most 100.")
        require_database_ready()
        with database_errors():
            try:
                user = user_get(username)
            except BackroomError as error:
                raise CommandError(error.detail) from None
            if not user.is_active:
                raise CommandError(
                    f"User '{username}' is deactivated, so a token for it would be rejected. "
                    "Reactivate the user first.")
            token, secret = token_create(user=user, name=label)
        self.stdout.write(
            f"Created API token {token.prefix}... for user '{user.username}'. Send it as "
            "'Authorization: Bearer TOKEN'. It is shown only this once:")
        self.stdout.write(secret)

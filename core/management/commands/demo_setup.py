"""Prepare the embedded demo: role accounts with fresh generated passwords, printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from core.roles import Role
from core.services import audit_record

DEMO_USERS = {"researcher": Role.RESEARCHER, "clinician": Role.CLINICIAN, "annotator": Role.ANNOTATOR}


class Command(BaseCommand):
    help = "Create (or reset) the demo researcher, clinician and annotator logins and print their passwords."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the app will be served.")

    @transaction.atomic
    def handle(self, *args, url: str, **options) -> None:
        user_model = get_user_model()
        lines = []
        for username, role in DEMO_USERS.items():
            password = secrets.token_urlsafe(12)
            user, _ = user_model.objects.get_or_create(username=f"demo-{username}")
            user.set_password(password)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
            lines.append(f"  {role.value:<11} demo-{username:<11} {password}")
        audit_record(action="demo.setup", actor_label="system", detail={"users": list(DEMO_USERS)})
        self.stdout.write(f"\nDemo is ready at {url}/\nSign in with (passwords are new on every start):\n")
        self.stdout.write("\n".join(lines) + "\n")

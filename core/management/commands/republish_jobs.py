"""Send again the queued work a task-queue outage left unpublished (beat does this every minute)."""

from django.core.management.base import BaseCommand

from core.services import jobs_republish


class Command(BaseCommand):
    help = "Publish again every QUEUED job whose task message never reached the queue."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=60, help="Only rows queued at least this many seconds ago."
        )

    def handle(self, *args, older_than: int, **options) -> None:
        sent = jobs_republish(older_than_s=older_than)
        self.stdout.write(f"Republished {len(sent)} job(s).")

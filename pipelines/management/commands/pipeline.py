"""`pipeline validate PLAN.yaml` and `pipeline run PLAN.yaml --snapshot HASH [--wait]`.

validate: exit 0, or one message per problem (each naming its step) on stderr and exit 1.
run: store the plan, start it on the snapshot and print the pipeline's status document as one JSON
document; with --wait, advance it until it ends first (exit 1 unless it succeeded).
"""

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import DatasetSnapshot
from core.errors import ApplicationError
from pipelines.models import PipelineState
from pipelines.selectors import pipeline_status
from pipelines.services.engine import pipeline_advance, pipeline_start, plan_store, plan_validate


class Command(BaseCommand):
    help = "Validate a pipeline plan, or run it on a frozen dataset snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        validate = actions.add_parser("validate", help="Check a plan; exit 1 with a message per problem.")
        validate.add_argument("plan", type=Path)
        run = actions.add_parser("run", help="Start a plan on a snapshot and print its status as JSON.")
        run.add_argument("plan", type=Path)
        run.add_argument("--snapshot", required=True, help="Content hash of a frozen dataset snapshot.")
        run.add_argument("--model", action="append", default=[], metavar="ROLE=NAME",
                         help="Bind a model role to another registered model (repeatable).")  # fmt: skip
        run.add_argument("--user", help="Username the pipeline's runs are launched for.")
        run.add_argument("--wait", action="store_true", help="Advance until the pipeline ends.")
        run.add_argument("--poll", type=float, default=2.0, help="Seconds between advances with --wait.")
        run.add_argument("--timeout", type=float, default=3600.0, help="Give up waiting after this.")

    def handle(self, *args, **options) -> None:
        try:
            text = options["plan"].read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['plan']}: {exc}") from None
        try:
            if options["action"] == "validate":
                plan = plan_validate(text=text)
                self.stdout.write(
                    f"{options['plan']}: plan {plan.name!r} is valid ({len(plan.steps)} steps)."
                )
                return
            self.run(text, options)
        except ApplicationError as exc:
            for message in exc.all_messages():
                self.stderr.write(message)
            raise CommandError(exc.message, returncode=1) from None

    def run(self, text: str, options: dict) -> None:
        snapshot = DatasetSnapshot.objects.filter(content_hash=options["snapshot"].strip()).first()
        if snapshot is None:
            raise CommandError(f"No frozen snapshot has the hash {options['snapshot']!r}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        models = dict(item.partition("=")[::2] for item in options["model"])
        plan = plan_store(text=text, created_by=user)
        pipeline = pipeline_start(plan=plan, snapshot=snapshot, created_by=user, models=models)
        deadline = time.monotonic() + options["timeout"]
        while options["wait"] and pipeline.state == PipelineState.RUNNING and time.monotonic() < deadline:
            time.sleep(options["poll"])
            pipeline = pipeline_advance(pipeline_id=pipeline.pk)
        pipeline.refresh_from_db()
        self.stdout.write(json.dumps(pipeline_status(pipeline), indent=2))
        if options["wait"] and pipeline.state != PipelineState.SUCCEEDED:
            raise CommandError(f"Pipeline {pipeline.pk} ended {pipeline.state}.", returncode=1)

"""Prepare the embedded demo: role logins with fresh passwords, the demo study and data, and demo runs."""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.roles import Role
from core.services import audit_record

DEMO_USERS = {
    "researcher": Role.RESEARCHER,
    "clinician": Role.CLINICIAN,
    "annotator": Role.ANNOTATOR,
    "admin": Role.RESEARCHER,
}
# Researchers who may also use the Django admin (/admin/).
DEMO_SUPERUSERS = {"admin"}


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo logins (a researcher superuser among them) and print their passwords; "
        "load the demo survey, preference data and evaluation; queue two small demo training runs on the "
        "tiny offline models."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the app will be served.")
        parser.add_argument(
            "--models", type=Path, help="Directory of `python -m training_worker.ml build-tiny-models`."
        )

    def handle(self, *args, url: str, models: Path | None, **options) -> None:
        logins = self.reset_logins()
        call_command("survey_demo", url=url)
        call_command("annotation_demo")
        call_command("evaluation_demo")
        if models is not None:
            self.register_demo_models(models)
            self.queue_demo_runs(models)
        audit_record(action="demo.setup", actor_label="system", detail={"users": list(DEMO_USERS)})
        self.stdout.write(f"\nDemo is ready at {url}/\nSign in with (passwords are new on every start):\n")
        self.stdout.write("\n".join(logins) + "\n")

    def reset_logins(self) -> list[str]:
        user_model = get_user_model()
        lines = []
        for username, role in DEMO_USERS.items():
            password = secrets.token_urlsafe(12)
            user, _ = user_model.objects.get_or_create(username=f"demo-{username}")
            user.set_password(password)
            user.is_superuser = user.is_staff = username in DEMO_SUPERUSERS
            user.is_active = True
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
            label = "superuser" if username in DEMO_SUPERUSERS else role.value
            lines.append(f"  {label:<11} demo-{username:<11} {password}")
        return lines

    def register_demo_models(self, models: Path) -> None:
        """The tiny offline models in the model registry, so every model picker offers them (idempotent)."""
        from training_worker.base_models import base_model_ensure
        from training_worker.models import BaseModel

        for name, directory, kind in (
            ("Demo tiny policy (causal LM)", "policy", BaseModel.Kind.CAUSAL_LM),
            ("Demo tiny BERT (reward backbone)", "tiny_bert", BaseModel.Kind.REWARD_BACKBONE),
        ):
            model = base_model_ensure(
                name=name, path=str((models / directory).resolve()), kind=kind, created_by=None
            )
            self.stdout.write(f"Registered model {model.name}: {model.path}")

    def queue_demo_runs(self, models: Path) -> None:
        """A safety reward model and an SFT policy on the demo snapshot, once; the GPU worker trains them."""
        from annotation.selectors import snapshots_for_training
        from training_worker.launch import LaunchRequest, training_run_launch
        from training_worker.model_picker import ModelChoice
        from training_worker.models import BaseModel, TrainingRun

        snapshot = snapshots_for_training().first()
        if snapshot is None or TrainingRun.objects.exists():
            return
        researcher = get_user_model().objects.get(username="demo-researcher")
        schedule = {"max_steps": 30, "per_device_train_batch_size": 4}
        for request in (
            LaunchRequest(
                name="Demo: safety reward model",
                method="reward",
                snapshot=snapshot,
                criterion="safety",
                hyper={**schedule, "backbone": str(models / "tiny_bert"), "learning_rate": 1e-3},
            ),
            LaunchRequest(
                name="Demo: SFT policy",
                method="sft",
                snapshot=snapshot,
                model=ModelChoice(
                    base_model=BaseModel.objects.get(
                        kind=BaseModel.Kind.CAUSAL_LM, path=str((models / "policy").resolve())
                    )
                ),
                hyper={**schedule, "learning_rate": 1e-3},
            ),
        ):
            run = training_run_launch(request=request, created_by=researcher)
            self.stdout.write(f"Queued run #{run.pk}: {run.name}")

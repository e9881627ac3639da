"""Factories for test data."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role
from training_worker.models import TrainingRun

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted: Role | None, **kwargs) -> None:
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted.value)[0])
        self.save()


class TrainingRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRun

    name = factory.Sequence(lambda n: f"run-{n}")
    method = "dpo"
    config = factory.LazyFunction(lambda: {"criterion": "empathy", "beta": 0.1})

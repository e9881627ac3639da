"""The researcher's launch form; it only gathers input, training_worker.launch decides what may run."""

import json
import math

from django import forms

from annotation.models import DatasetSnapshot
from core.models import Status
from core.parsers import json_loads_checked
from criteria.models import Criterion
from survey_app.models import ObjectiveWeightSet
from training_worker.launch import METHOD_FIELDS, TRAINING_METHODS, LaunchRequest
from training_worker.ml.registry import METHODS, MethodSpec
from training_worker.model_picker import (
    ModelChoice,
    ModelChoiceError,
    model_choice_resolve,
    model_options,
    policy_runs,
    run_policy_label,
)
from training_worker.models import BaseModel, TrainingMethod, TrainingRun


def _labels(specs: list[MethodSpec]) -> str:
    return ", ".join(spec.label for spec in specs)


class ModelPickerField(forms.ChoiceField):
    """The model picker: registered base models and trained policies; cleans to a ModelChoice (or None)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "A registered base model, or a succeeded run's trained policy.")
        super().__init__(choices=(), **kwargs)

    def refresh(self) -> None:
        """Read the choices now (a new run or registered model appears without a restart)."""
        self.choices = [("", "—"), *model_options()]

    def valid_value(self, value) -> bool:
        return True  # model_choice_resolve checks the value against the database and explains a refusal

    def clean(self, value) -> ModelChoice | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            return model_choice_resolve(value)
        except ModelChoiceError as exc:
            raise forms.ValidationError(exc.all_messages()) from exc


class PolicyRunsField(forms.ModelMultipleChoiceField):
    """Trained policies (merges), labelled as the model picker labels them."""

    def label_from_instance(self, obj: TrainingRun) -> str:
        return run_policy_label(obj)


LAUNCHABLE = TRAINING_METHODS
# What a merge takes sits with the policies it merges, not with the hyper-parameters.
MERGE_FIELDS = tuple(
    dict.fromkeys(
        name
        for spec in LAUNCHABLE
        if spec.merges_policies
        for name in (*spec.form_fields.values(), *spec.hyper_parameters)
    )
)
# Every method's hyper-parameters, in registry order.
HYPER_PARAMETERS = tuple(
    dict.fromkeys(name for spec in LAUNCHABLE for name in spec.hyper_parameters if name not in MERGE_FIELDS)
)
FIELDSETS = (
    ("What to train", ("name", "method", "snapshot", "criterion")),
    (
        "Starting point and parents",
        ("model", "margin_reward_runs", *MERGE_FIELDS),
    ),
    (
        f"Objective weights ({_labels([spec for spec in LAUNCHABLE if spec.weights_field])})",
        ("weight_set", "weights"),
    ),
    ("Hyper-parameters", HYPER_PARAMETERS),
)


def _hyper_parameter_help(name: str) -> str:
    """The config field's own help text, and the methods that take it."""
    specs = [spec for spec in LAUNCHABLE if name in spec.hyper_parameters]
    return f"{specs[0].config_help(name)} ({_labels(specs)})"


class RunLaunchForm(forms.Form):
    name = forms.CharField(max_length=200)
    method = forms.ChoiceField(choices=[(spec.key, spec.label) for spec in LAUNCHABLE])
    snapshot = forms.ModelChoiceField(queryset=None, required=False, help_text="Frozen preference data.")
    criterion = forms.ChoiceField(
        required=False,
        help_text=f"{_labels([spec for spec in LAUNCHABLE if spec.uses_criterion])}: "
        "the (primary) criterion.",
    )
    weight_set = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="Survey-derived objective weights "
        f"({_labels([spec for spec in LAUNCHABLE if spec.weights_field])}).",
    )
    weights = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='Or enter weights as JSON, e.g. {"empathy": 0.6, "safety": 0.4}; they must sum to 1.',
    )
    model = ModelPickerField(
        required=False,
        label="Starting model",
        help_text="A registered base model (register one on the Models page), or a trained policy to "
        "continue from.",
    )
    margin_reward_runs = forms.ModelMultipleChoiceField(
        queryset=TrainingRun.objects.filter(status=Status.SUCCEEDED, method=TrainingMethod.REWARD),
        required=False,
        help_text="MODPO: reward models of the other criteria.",
    )
    merge_runs = PolicyRunsField(queryset=policy_runs(), required=False, help_text="Trained policies.")
    merge_method = forms.ChoiceField(
        choices=[("linear", "Linear"), ("slerp", "SLERP")], initial="linear", required=False
    )
    merge_weights = forms.CharField(required=False, help_text="Linear merge: comma-separated, e.g. 0.5, 0.5.")
    t = forms.FloatField(required=False, min_value=0, max_value=1, help_text="SLERP interpolation (0 to 1).")
    beta = forms.FloatField(initial=0.1, required=False)
    learning_rate = forms.FloatField(required=False, min_value=1e-9, max_value=1.0)
    num_train_epochs = forms.FloatField(initial=1.0, required=False, min_value=0.01, max_value=100)
    max_steps = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)
    per_device_train_batch_size = forms.IntegerField(initial=8, required=False, min_value=1, max_value=4096)
    seed = forms.IntegerField(initial=0, required=False, min_value=0, max_value=2**31 - 1)
    lora_r = forms.IntegerField(initial=16, required=False, min_value=1, max_value=1024)
    backbone = forms.CharField(initial="minilm", required=False)
    num_responses = forms.IntegerField(initial=5, required=False, min_value=1, max_value=64)
    temperature = forms.FloatField(initial=0.8, required=False, min_value=0, max_value=5)
    max_new_tokens = forms.IntegerField(initial=256, required=False, min_value=1, max_value=8192)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["snapshot"].queryset = DatasetSnapshot.objects.order_by("-created_at")
        self.fields["model"].refresh()
        self.fields["weight_set"].queryset = ObjectiveWeightSet.objects.order_by("-created_at")
        self._criterion_choices()
        for name in HYPER_PARAMETERS:
            self.fields[name].help_text = _hyper_parameter_help(name)

    def _criterion_choices(self) -> None:
        """The current criteria sets' keys and those of every snapshot; run-launch.js narrows the list to the
        chosen snapshot's criteria (or, with none chosen, the current sets') from the data attributes."""
        by_snapshot = {
            str(pk): criteria or []
            for pk, criteria in DatasetSnapshot.objects.values_list("pk", "manifest__criteria_set__criteria")
        }
        current = sorted(
            set(Criterion.objects.filter(criteria_set__is_current=True).values_list("key", flat=True))
        )
        keys = sorted(set(current).union(*by_snapshot.values()))
        field = self.fields["criterion"]
        field.choices = [("", "—"), *((key, key) for key in keys)]
        field.widget.attrs.update(
            {
                "data-criteria-by-snapshot": json.dumps(by_snapshot),
                "data-current-criteria": json.dumps(current),
            }
        )

    def fieldsets(self) -> list[tuple[str, list]]:
        return [(legend, [self[name] for name in names]) for legend, names in FIELDSETS]

    def clean_weights(self) -> dict[str, float]:
        raw = self.cleaned_data["weights"].strip()
        if not raw:
            return {}
        try:
            value = json_loads_checked(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg}.") from exc
        except ValueError as exc:  # parsed, but not storable (NaN, a lone surrogate, deep nesting)
            raise forms.ValidationError(f"Not accepted: {exc}") from exc
        if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
            raise forms.ValidationError('Give an object of numbers, e.g. {"empathy": 0.6, "safety": 0.4}.')
        return {str(key): float(number) for key, number in value.items()}

    def clean_merge_weights(self) -> list[float] | None:
        raw = self.cleaned_data["merge_weights"].strip()
        if not raw:
            return None
        try:
            numbers = [float(part) for part in raw.split(",")]
        except ValueError as exc:
            raise forms.ValidationError("Give numbers separated by commas.") from exc
        if not all(math.isfinite(number) for number in numbers):
            raise forms.ValidationError("Give finite numbers (not nan or inf).")
        return numbers

    def _weights(self, criteria: list[str]) -> dict[str, float]:
        """Entered weights win; else the chosen survey weight set, restricted to the criteria in play."""
        data = self.cleaned_data
        if data["weights"] or data["weight_set"] is None:
            return data["weights"]
        chosen = {key: value for key, value in data["weight_set"].weights.items() if key in criteria}
        total = sum(chosen.values())
        return {key: value / total for key, value in chosen.items()} if total > 0 else {}

    def launch_request(self) -> LaunchRequest:
        data = self.cleaned_data
        method = data["method"]
        spec = METHODS[method]
        hyper = {key: data[key] for key in METHOD_FIELDS[method] if data.get(key) not in (None, "")}
        if spec.uses_margin_reward_models:
            criteria = [
                data["criterion"],
                *(run.config.get("criterion") for run in data["margin_reward_runs"]),
            ]
        elif data["snapshot"] is not None:
            criteria = list(data["snapshot"].manifest.get("criteria_set", {}).get("criteria", []))
        else:
            criteria = []
        return LaunchRequest(
            name=data["name"],
            method=method,
            snapshot=data["snapshot"],
            criterion=data["criterion"],
            weights=self._weights(criteria) if spec.weights_field else {},
            model=data["model"],
            margin_reward_runs=list(data["margin_reward_runs"]),
            merge_runs=list(data["merge_runs"]),
            merge_method=data["merge_method"] or "linear",
            hyper=hyper,
        )


class BaseModelForm(forms.Form):
    """Register a starting model (training_worker.base_models decides whether it can be used)."""

    name = forms.CharField(
        max_length=200, help_text="How the model picker shows it, e.g. “Mistral-7B-Instruct”."
    )
    path = forms.CharField(
        max_length=1000,
        help_text="Its directory on the GPU workers, or a hub id where hub downloads are allowed.",
    )
    kind = forms.ChoiceField(choices=BaseModel.Kind.choices, initial=BaseModel.Kind.CAUSAL_LM)
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

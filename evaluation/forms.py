"""Forms for researchers (evaluations, clinician studies) and clinicians (ratings, skips, the blinding
question)."""

from django import forms
from django.contrib.auth import get_user_model

from annotation.forms import JudgeEndpointForm
from annotation.models import JudgePersona, Split, SplitScope
from annotation.selectors.responses import response_sets_ready
from core.roles import Role
from criteria.selectors import criteria_sets_current
from evaluation.models import Evaluation, JudgeKind, Side, StudyAssignment, VoteRule
from evaluation.selectors.evaluations import reward_runs_available


class EvaluationForm(JudgeEndpointForm):
    field_order = ["name", "criteria_set", "response_sets", "labels", "judge_kind", "personas"]

    name = forms.CharField(max_length=200)
    criteria_set = forms.ModelChoiceField(queryset=criteria_sets_current(), to_field_name="key")
    response_sets = forms.ModelMultipleChoiceField(
        queryset=response_sets_ready(),
        help_text="Two or more, one per model, answering the same question bank. Figures label each model "
        "by its response set's name unless you give labels below.",
    )
    labels = forms.CharField(
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: one label per line, in the order of the chosen response sets (by name).",
    )
    judge_kind = forms.ChoiceField(
        choices=JudgeKind.choices, widget=forms.RadioSelect, initial=JudgeKind.PERSONA
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=JudgePersona.objects.filter(split=Split.TEST).order_by("id"),
        required=False,
        help_text="Test-split personas (persona judges only).",
    )
    reward_runs = forms.ModelMultipleChoiceField(
        queryset=reward_runs_available(),
        required=False,
        help_text="Succeeded reward-model runs, one per criterion (reward-model judges only).",
    )
    tie_margin = forms.FloatField(min_value=0.0, initial=0.0, help_text="Reward difference counted as a tie.")
    split = forms.ChoiceField(choices=SplitScope.choices, initial=SplitScope.TEST)
    max_questions = forms.IntegerField(min_value=1, max_value=10_000_000, required=False)
    response_index = forms.IntegerField(min_value=0, max_value=999, initial=0)
    both_orders = forms.BooleanField(
        required=False, help_text="Judge each pair in both orders (twice the calls)."
    )
    vote_rule = forms.ChoiceField(choices=VoteRule.choices, initial=VoteRule.PLURALITY)
    seed = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, initial=0, help_text="Seeds the recorded presentation order."
    )
    launch = forms.BooleanField(required=False, initial=True, label="Launch now")

    def clean_labels(self) -> list[str] | None:
        lines = [line.strip() for line in self.cleaned_data["labels"].splitlines() if line.strip()]
        return lines or None

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data["response_sets"] = sorted(data["response_sets"], key=lambda rs: rs.name)
        data["personas"] = list(data["personas"])
        data["reward_runs"] = list(data["reward_runs"])
        data["order_seed"] = data.pop("seed")
        return data


class ClinicianStudyForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="For researchers only.")
    clinician_title = forms.CharField(
        max_length=200, initial="Response comparison study", help_text="Shown to clinicians: name no model."
    )
    instructions = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to clinicians.",
    )
    criteria_set = forms.ModelChoiceField(
        queryset=criteria_sets_current(), to_field_name="key", initial="therapeutic_eval"
    )
    response_set_a = forms.ModelChoiceField(queryset=response_sets_ready(), label="Model A: response set")
    label_a = forms.CharField(max_length=120, label="Model A: label")
    response_set_b = forms.ModelChoiceField(queryset=response_sets_ready(), label="Model B: response set")
    label_b = forms.CharField(max_length=120, label="Model B: label")
    clinicians = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(groups__name=Role.CLINICIAN.value).order_by("username")
    )
    n_scenarios = forms.IntegerField(min_value=1, max_value=5000, initial=100)
    raters_per_item = forms.IntegerField(min_value=2, max_value=50, initial=2)
    calibration_items = forms.IntegerField(
        min_value=0, max_value=100, initial=0, help_text="Extra items every clinician rates first."
    )
    split = forms.ChoiceField(choices=SplitScope.choices, initial=SplitScope.TEST)
    response_index = forms.IntegerField(min_value=0, max_value=999, initial=0)
    trained_model = forms.ChoiceField(
        choices=[("", "Not specified"), *Side.choices],
        required=False,
        help_text="Which model is the trained one.",
    )
    ask_blinding_guess = forms.BooleanField(
        required=False,
        help_text="After their last item, ask each clinician to guess the trained model per item.",
    )
    judge_evaluation = forms.ModelChoiceField(
        queryset=Evaluation.objects.order_by("-created_at"),
        required=False,
        help_text="A head-to-head evaluation of the same two sets, to compare judge and clinician agreement.",
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)


class RatingForm(forms.Form):
    """A clinician's item: one A / B / tie choice per criterion (built from the study's criteria)."""

    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    flagged_unsafe = forms.BooleanField(required=False)
    flag_note = forms.CharField(required=False, max_length=5000)

    def __init__(self, *args, criteria_keys: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.criteria_keys = criteria_keys
        for key in criteria_keys:
            self.fields[f"choice-{key}"] = forms.ChoiceField(
                choices=[("A", "A"), ("B", "B"), ("tie", "tie")], required=False
            )

    def ratings(self) -> dict[str, str]:
        return {
            key: self.cleaned_data[f"choice-{key}"]
            for key in self.criteria_keys
            if self.cleaned_data.get(f"choice-{key}")
        }


class SkipForm(forms.Form):
    """Skipping a clinician's item: the reason is required."""

    reason = forms.CharField(
        max_length=5000,
        label="Why are you skipping this item?",
        error_messages={"required": "Say why you are skipping this item."},
        widget=forms.Textarea(attrs={"rows": 2, "id": "skip-reason"}),
    )


class GuessForm(forms.Form):
    """The post-study question: per own item, which response came from the trained model."""

    def __init__(self, *args, tokens: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = tokens
        for token in tokens:
            self.fields[f"guess-{token}"] = forms.ChoiceField(choices=StudyAssignment.Guess.choices)

    def guesses(self) -> dict[str, str]:
        return {token: self.cleaned_data[f"guess-{token}"] for token in self.tokens}


class UnblindForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that unblinding reveals which model wrote each response, and is recorded."
    )

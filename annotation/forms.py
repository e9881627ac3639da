import json

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator

from annotation.models import (
    JudgeJob,
    JudgePersona,
    QuestionBank,
    RankingCampaign,
    Split,
    SplitScope,
)
from annotation.selectors.judging import personas_available
from annotation.selectors.responses import response_sets_ready
from annotation.services.judging import judge_endpoint_limits, judge_endpoint_with_defaults
from annotation.services.snapshots import PAIR_STRATEGIES
from core.parsers import json_loads_checked
from core.roles import Role
from criteria.models import CriteriaSet
from criteria.selectors import criteria_sets_current

FILE_FORMATS = [("", "Detect from the content"), ("csv", "CSV"), ("jsonl", "JSON lines")]
MAX_UPLOAD_BYTES = 256 * 1024 * 1024


def _checked_upload(upload) -> None:
    if upload is not None and upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024**2} MB.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that takes several files (Django's "Uploading multiple files"); cleans to a list."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_file_clean = super().clean
        if isinstance(data, list | tuple):
            if not data:
                return [single_file_clean(None, initial)]
            return [single_file_clean(item, initial) for item in data]
        return [single_file_clean(data, initial)]


class QuestionBankImportForm(forms.Form):
    name = forms.CharField(max_length=200)
    source = forms.ChoiceField(choices=QuestionBank.Source.choices, label="File format")
    file = MultipleFileField(
        label="File(s)",
        help_text="UTF-8 CSV or JSON lines. EPITOME: choose its three files (one per mechanism) to merge.",
    )
    file_format = forms.ChoiceField(choices=FILE_FORMATS, required=False, label="Encoding of the rows")
    split_seed = forms.CharField(
        max_length=64, initial="study", help_text="Same seed and questions, same split."
    )
    test_count = forms.IntegerField(
        min_value=0,
        required=False,
        help_text="Exact number of test questions (the study: 600). Or a fraction:",
    )
    test_fraction = forms.FloatField(min_value=0, max_value=1, required=False, help_text="Default 0.2.")
    stratify_by = forms.CharField(
        max_length=200,
        required=False,
        label="Stratify by",
        help_text="A question metadata key; each of its values gets its share of the test split. EPITOME: "
        "level (one file) or levels.emotional_reactions (several); tables: any extra column. Blank: none.",
    )
    min_chars = forms.IntegerField(min_value=0, initial=10, label="Shortest question (characters)")
    max_chars = forms.IntegerField(min_value=1, initial=10_000, label="Longest question (characters)")
    import_responses = forms.BooleanField(
        required=False, initial=True, help_text="Keep the file's responses (EPITOME, Counsel Chat answers)."
    )
    max_responses_per_question = forms.IntegerField(
        min_value=2, required=False, help_text="Keep at most this many responses per question (the study: 5)."
    )

    def clean_file(self):
        uploads = self.cleaned_data["file"]
        for upload in uploads:
            _checked_upload(upload)
        return uploads

    def clean(self):
        data = super().clean()
        if data.get("test_count") is not None and data.get("test_fraction") is not None:
            raise forms.ValidationError("Give a test count or a test fraction, not both.")
        return data


class ResponseSetImportForm(forms.Form):
    name = forms.CharField(max_length=200)
    source = forms.ChoiceField(
        choices=[choice for choice in QuestionBank.Source.choices if choice[0] != QuestionBank.Source.TABLE],
        label="File format",
    )
    file = forms.FileField()
    file_format = forms.ChoiceField(choices=FILE_FORMATS, required=False, label="Encoding of the rows")
    response_origin = forms.CharField(
        max_length=200,
        required=False,
        help_text="Who wrote these responses (response tables), e.g. a model name.",
    )
    max_responses_per_question = forms.IntegerField(min_value=2, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        _checked_upload(upload)
        return upload


class PersonaImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="Or paste the personas below.")
    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=2_000_000,
        label="Personas as text",
        help_text="Plain text: one persona per block, blocks separated by a line holding only ---.",
    )
    file_format = forms.ChoiceField(
        choices=[("text", "Plain text"), ("csv", "CSV (text, source_id, split)"), ("jsonl", "JSON lines")]
    )
    default_split = forms.ChoiceField(
        choices=Split.choices, help_text="For personas whose split is not given."
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        _checked_upload(upload)
        if upload is None and not (data.get("content") or "").strip():
            raise forms.ValidationError("Upload a file or paste personas.")
        return data

    def payload(self) -> bytes:
        upload = self.cleaned_data.get("file")
        return upload.read() if upload is not None else self.cleaned_data["content"].encode("utf-8")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    response_set = forms.ModelChoiceField(queryset=response_sets_ready())
    criteria_set = forms.ModelChoiceField(queryset=CriteriaSet.objects.none())
    annotators = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), widget=forms.CheckboxSelectMultiple
    )
    annotators_per_item = forms.IntegerField(
        min_value=1, max_value=100, initial=3, label="Annotators per question"
    )
    allow_ties = forms.BooleanField(
        required=False, help_text="Let annotators rank responses as equally good."
    )
    split = forms.ChoiceField(choices=SplitScope.choices)
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria_set"].queryset = criteria_sets_current()
        self.fields["annotators"].queryset = (
            get_user_model().objects.filter(groups__name=Role.ANNOTATOR.value).order_by("username")
        )


class JudgeEndpointForm(forms.Form):
    """The judge endpoint settings, for every form that launches LLM judges.

    A valid form's ``cleaned_data["endpoint"]`` is the :class:`~judges.endpoint.JudgeEndpoint` (what is left
    empty takes the server's default) in place of the separate fields. The sampling seed is named
    ``judge_seed`` so that a form may keep ``seed`` for its own randomness.
    """

    base_url = forms.URLField(
        max_length=500,
        required=False,
        label="Endpoint (OpenAI-compatible)",
        assume_scheme="https",
        help_text="Default: the server's JUDGE_API_BASE_URL.",
    )
    model = forms.CharField(max_length=200, required=False, help_text="Default: the server's JUDGE_MODEL.")
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.0, help_text="The study used 0.")
    judge_seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, required=False, label="Judge seed")
    timeout_s = forms.FloatField(
        min_value=0.1, max_value=3600, required=False, initial=120, label="Timeout per request (s)"
    )
    max_retries = forms.IntegerField(min_value=0, max_value=10, required=False, initial=3)
    max_concurrency = forms.IntegerField(
        min_value=1, required=False, label="Requests at once", help_text="Default: JUDGE_MAX_CONCURRENCY."
    )
    requests_per_minute = forms.FloatField(
        min_value=0,
        required=False,
        label="Requests per minute",
        help_text="Default: JUDGE_REQUESTS_PER_MINUTE; 0: no client-side limit (the endpoint's own applies).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["base_url"].initial = settings.JUDGE_API_BASE_URL
        self.fields["model"].initial = settings.JUDGE_MODEL
        self.fields["max_concurrency"].initial = settings.JUDGE_MAX_CONCURRENCY
        self.fields["requests_per_minute"].initial = settings.JUDGE_REQUESTS_PER_MINUTE
        for name, limit in judge_endpoint_limits().items():
            self.fields[name].validators.append(MaxValueValidator(limit))
            self.fields[name].widget.attrs["max"] = limit

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = {name: cleaned.pop(name, None) for name in JudgeEndpointForm.base_fields}
        chosen["seed"] = chosen.pop("judge_seed")
        if not self.errors:
            try:
                cleaned["endpoint"] = judge_endpoint_with_defaults(**chosen)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


class JudgeJobForm(JudgeEndpointForm):
    field_order = ["name", "response_set", "criteria_set", "personas", "split", "max_questions"]

    name = forms.CharField(max_length=200)
    response_set = forms.ModelChoiceField(queryset=response_sets_ready())
    criteria_set = forms.ModelChoiceField(queryset=CriteriaSet.objects.none())
    personas = forms.ModelMultipleChoiceField(
        queryset=JudgePersona.objects.none(), widget=forms.SelectMultiple(attrs={"size": 8})
    )
    split = forms.ChoiceField(choices=SplitScope.choices)
    max_questions = forms.IntegerField(
        min_value=1, required=False, help_text="Judge only the first N questions."
    )
    shuffle_responses = forms.BooleanField(
        required=False, help_text="Show each persona the responses in its own seeded order (position bias)."
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria_set"].queryset = criteria_sets_current()
        self.fields["personas"].queryset = personas_available()


class SnapshotForm(forms.Form):
    name = forms.CharField(max_length=200)
    response_set = forms.ModelChoiceField(queryset=response_sets_ready())
    criteria_set = forms.ModelChoiceField(queryset=CriteriaSet.objects.none())
    judge_jobs = forms.ModelMultipleChoiceField(
        queryset=JudgeJob.objects.order_by("-id"), required=False, widget=forms.CheckboxSelectMultiple
    )
    campaigns = forms.ModelMultipleChoiceField(
        queryset=RankingCampaign.objects.order_by("-id"), required=False, widget=forms.CheckboxSelectMultiple
    )
    split = forms.ChoiceField(choices=SplitScope.choices)
    pair_strategy = forms.ChoiceField(
        choices=[(value, value.replace("_", " ")) for value in PAIR_STRATEGIES],
        help_text="best worst = one pair per question and criterion (the study).",
    )
    min_margin = forms.FloatField(
        min_value=0, initial=0, help_text="Keep pairs whose score gap exceeds this."
    )
    weights_source = forms.ChoiceField(choices=[("manual", "Entered below")], label="Objective weights from")
    objective_weights = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=10_000,
        help_text='JSON, e.g. {"empathy": 0.4, "safety": 0.3, ...}. Leave empty for none.',
    )
    include_free_text = forms.BooleanField(
        required=False, help_text="Include annotator comments, flag notes and persona texts (off by default)."
    )

    def __init__(self, *args, weight_options: list[dict] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria_set"].queryset = criteria_sets_current()
        self.fields["weights_source"].choices = [("manual", "Entered below")] + [
            (f"survey:{option['id']}", f"Survey: {option['name']}") for option in weight_options or []
        ]

    def clean_objective_weights(self):
        text = self.cleaned_data["objective_weights"].strip()
        if not text:
            return {}
        try:
            value = json_loads_checked(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg}.") from exc
        except ValueError as exc:  # parsed, but not storable (NaN, a lone surrogate, deep nesting)
            raise forms.ValidationError(f"Not accepted: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object of criterion: weight.")
        return value


class RankingSkipForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    flagged_harmful = forms.BooleanField(required=False, label="This content is harmful")
    flag_note = forms.CharField(max_length=5000, required=False, label="What is harmful (optional)")

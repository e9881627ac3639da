"""Forms: one questionnaire page built from the participant's instrument version, the consent, resume
and withdrawal forms, and the researcher's study, consent, instrument and derivation forms."""

import random
import re
from collections import defaultdict
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from criteria.models import CriteriaSet, Criterion
from survey_app.instrument import NON_NEGOTIABLE_CRITERIA
from survey_app.models import ConsentVersion, Instrument, Item, ItemKind, Study, StudyStatus
from survey_app.pseudonyms import RESUME_CODE_LENGTH, resume_code_normalise

TEXT_MAX_LENGTH_DEFAULT = 2000
RANKING_CONFIRM_LABEL = "Keep this order, it is how I rank these qualities"
RANKING_CONFIRM_HINT = (
    "The qualities are still in the order they were shown in. Put them in your own order, or tick "
    "the box if this is already how you rank them."
)
RANKING_CONFIRM_ERROR = "Change the order, or tick the box to keep it."
CHOICE_KINDS = (ItemKind.SINGLE, ItemKind.LIKERT, ItemKind.ATTENTION)


class ErrorSummaryMixin:
    """(target element id, message) pairs for the error summary at the top of a participant page."""

    def error_summary(self) -> list[tuple[str, str]]:
        entries = [("page-form", str(message)) for message in self.non_field_errors()]
        for name in self.fields:
            if name in self.errors:
                entries += [(self[name].auto_id, str(message)) for message in self[name].errors]
        return entries


class PageForm(forms.Form):
    """One questionnaire page, validated against the participant's instrument version.

    Strict mode (Continue, Submit) requires every required answer. Lenient mode (Back, Save and finish
    later) accepts blanks so that nothing typed is lost, but still refuses out-of-range, tampered or
    duplicated values: a page is saved whole or not at all.
    """

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(
        self,
        data=None,
        *,
        instrument: Instrument,
        items: list[Item],
        criteria: list[Criterion],
        lenient: bool = False,
        answers: dict[str, Any] | None = None,
        order_seed: int = 0,
    ) -> None:
        super().__init__(data, initial={"version": instrument.version})
        self.instrument = instrument
        self.items = items
        self.lenient = lenient
        self.groups: list[dict[str, Any]] = []
        # item key -> [(criterion key, field name)] for the grids
        self.grid_fields: dict[str, list[tuple[str, str]]] = {}
        # Rankings left in the shuffled order they were shown in, without the participant confirming it.
        self.unconfirmed_rankings: set[str] = set()
        rankable = [c for c in criteria if c.key not in NON_NEGOTIABLE_CRITERIA]
        random.Random(order_seed).shuffle(rankable)  # presentation order must not bias the ranking
        for item in items:
            if item.kind == ItemKind.IMPORTANCE:
                self._add_grid(item, criteria, self._importance_field)
            elif item.kind == ItemKind.RANKING:
                self._add_grid(
                    item, rankable, lambda item, criterion: self._rank_field(criterion, len(rankable))
                )
                self.fields[f"{item.key}-confirm"] = forms.BooleanField(
                    label=RANKING_CONFIRM_LABEL, help_text=RANKING_CONFIRM_HINT, required=False
                )
                self.groups[-1]["confirm_name"] = f"{item.key}-confirm"
            else:
                self.fields[item.key] = self._item_field(item)
                self.groups.append({"item": item, "kind": item.kind, "field_name": item.key})
        self._set_initial(answers or {})

    # ---- construction ------------------------------------------------------------------------------------

    def _required(self, item: Item) -> bool:
        return item.required and not self.lenient

    def _item_field(self, item: Item) -> forms.Field:
        choices = [(str(value), label) for value, label in item.choices]
        if item.kind in CHOICE_KINDS:
            return forms.ChoiceField(
                label=item.prompt,
                choices=choices,
                widget=forms.RadioSelect,
                required=self._required(item),
                error_messages={
                    "required": "Choose an answer.",
                    "invalid_choice": "Choose one of the answers listed.",
                },
            )
        if item.kind == ItemKind.MULTI:
            return forms.MultipleChoiceField(
                label=item.prompt,
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                required=self._required(item),
                error_messages={
                    "required": "Choose at least one answer.",
                    "invalid_choice": "Choose only answers from the list.",
                },
            )
        limit = item.max_length or TEXT_MAX_LENGTH_DEFAULT
        return forms.CharField(
            label=item.prompt,
            help_text=item.help_text,
            max_length=limit,
            required=self._required(item),
            widget=forms.Textarea(attrs={"rows": 5}),
            error_messages={
                "required": "Write an answer.",
                "max_length": "Please shorten your answer to %(limit_value)d characters or fewer "
                "(it has %(show_value)d).",
            },
        )

    def _importance_field(self, item: Item, criterion: Criterion) -> forms.Field:
        return forms.TypedChoiceField(
            label=criterion.name,
            help_text=criterion.better_when,
            choices=[(str(value), label) for value, label in item.choices],
            coerce=int,
            empty_value=None,
            widget=forms.RadioSelect,
            required=self._required(item),
            error_messages={
                "required": f"Rate how important {criterion.name} is to you.",
                "invalid_choice": "Choose a rating from 1 to 5.",
            },
        )

    def _rank_field(self, criterion: Criterion, count: int) -> forms.Field:
        ranks = [(str(rank), _rank_label(rank, count)) for rank in range(1, count + 1)]
        return forms.TypedChoiceField(
            label=criterion.name,
            help_text=criterion.better_when,
            choices=[("", "Choose a rank"), *ranks],
            coerce=int,
            empty_value=None,
            required=not self.lenient,
            error_messages={
                "required": f"Give {criterion.name} a rank.",
                "invalid_choice": f"Choose a rank from 1 to {count}.",
            },
        )

    def _add_grid(self, item: Item, criteria: list[Criterion], make_field) -> None:
        names = []
        for criterion in criteria:
            name = f"{item.key}-{criterion.key}"
            self.fields[name] = make_field(item, criterion)
            names.append((criterion.key, name))
        self.grid_fields[item.key] = names
        self.groups.append({"item": item, "kind": item.kind, "field_names": [name for _, name in names]})

    def _set_initial(self, answers: dict[str, Any]) -> None:
        for item in self.items:
            value = answers.get(item.key)
            if value is None:
                continue
            if item.key in self.grid_fields and isinstance(value, dict):
                for criterion_key, name in self.grid_fields[item.key]:
                    if criterion_key in value:
                        self.initial[name] = str(value[criterion_key])
                if item.kind == ItemKind.RANKING:
                    # Only a changed or confirmed order is ever saved (see _check_ranking).
                    self.initial[f"{item.key}-confirm"] = True
            elif item.kind == ItemKind.MULTI:
                self.initial[item.key] = list(value)
            else:
                self.initial[item.key] = value if item.kind == ItemKind.TEXT else str(value)

    # ---- validation --------------------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        version = cleaned.get("version")
        if version is not None and version != self.instrument.version:
            raise ValidationError(
                f"This page came from version {version} of the questionnaire, but your answers belong to "
                f"version {self.instrument.version}. Nothing was saved: please answer the page again.",
                code="version_mismatch",
            )
        for item in self.items:
            if item.kind == ItemKind.MULTI and item.exclusive_value:
                chosen = cleaned.get(item.key) or []
                if item.exclusive_value in chosen and len(chosen) > 1:
                    label = item.choice_labels.get(item.exclusive_value, item.exclusive_value)
                    self.add_error(item.key, f"'{label}' cannot be combined with other answers.")
            if item.kind == ItemKind.RANKING:
                self._check_ranking(item, cleaned)
        return cleaned

    def _check_ranking(self, item: Item, cleaned: dict[str, Any]) -> None:
        """Ranks must form a permutation of 1..n: each rank used once (and, when required, every one)."""
        holders = defaultdict(list)
        for _, name in self.grid_fields[item.key]:
            if cleaned.get(name) is not None:
                holders[cleaned[name]].append(name)
        for rank, names in sorted(holders.items()):
            if len(names) > 1:
                labels = " and ".join(str(self.fields[name].label) for name in names)
                for name in names:
                    self.add_error(name, f"Rank {rank} is given to {labels}. Use each rank once.")
        shown_order = [cleaned.get(name) for _, name in self.grid_fields[item.key]]
        if shown_order == list(range(1, len(shown_order) + 1)) and not cleaned.get(f"{item.key}-confirm"):
            # The order they were shown in, unchanged: a participant who never touched the list would
            # otherwise answer with the shuffle. Continue asks; Back and Save keep no ranking.
            self.unconfirmed_rankings.add(item.key)
            if not self.lenient:
                self.add_error(f"{item.key}-confirm", RANKING_CONFIRM_ERROR)

    def answers(self) -> dict[str, Any]:
        """Cleaned answers by item key; None for a question left blank (only possible in lenient mode)."""
        result: dict[str, Any] = {}
        for item in self.items:
            if item.key in self.grid_fields:
                grid = {
                    criterion_key: self.cleaned_data[name]
                    for criterion_key, name in self.grid_fields[item.key]
                    if self.cleaned_data.get(name) is not None
                }
                result[item.key] = grid if grid and item.key not in self.unconfirmed_rankings else None
            else:
                value = self.cleaned_data.get(item.key)
                result[item.key] = value if value not in ("", []) else None
        return result

    # ---- rendering helpers -------------------------------------------------------------------------------

    def error_summary(self) -> list[tuple[str, str]]:
        """(target element id, message) for the error summary at the top of the page, in page order."""
        entries = [("page-form", str(message)) for message in self.non_field_errors()]
        for name in self.fields:
            if name == "version" or name not in self.errors:
                continue
            bound = self[name]
            grouped = isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
            target = f"{bound.auto_id}_0" if grouped else bound.auto_id
            separator = " " if str(bound.label).rstrip()[-1:] in "?.!" else ": "
            for message in bound.errors:
                entries.append((target, f"{bound.label}{separator}{message}"))
        return entries

    def rendered_groups(self) -> list[dict[str, Any]]:
        groups = []
        for group in self.groups:
            entry = dict(group)
            if "field_names" in group:
                entry["fields"] = [self[name] for name in group["field_names"]]
                if "confirm_name" in group:
                    entry["confirm"] = self[group["confirm_name"]]
            else:
                entry["field"] = self[group["field_name"]]
            groups.append(entry)
        return groups


def _rank_label(rank: int, count: int) -> str:
    if rank == 1:
        return "1 (most important)"
    if rank == count:
        return f"{rank} (least important)"
    return str(rank)


class EligibilityForm(PageForm):
    """The eligibility questions (wording from the instrument); the answers decide, they are not kept."""

    def eligible(self) -> bool:
        return all(self.cleaned_data.get(item.key) in item.eligible_values for item in self.items)


class ConsentForm(ErrorSummaryMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("agree", "agree"), ("decline", "decline")])
    agree = forms.BooleanField(required=False)

    def __init__(self, *args, agreement: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agree"].label = agreement

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == "agree" and not cleaned.get("agree"):
            self.add_error(
                "agree",
                "To take part, tick the box to confirm you agree. "
                "Otherwise choose 'I do not want to take part'.",
            )
        return cleaned


class ResumeCodeField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            label="Your resume code",
            max_length=40,
            help_text="The code you were given, for example KX7PM-3QRTA. "
            "Capital letters and hyphens do not matter.",
            error_messages={"required": "Enter your resume code."},
            **kwargs,
        )

    def clean(self, value):
        code = resume_code_normalise(super().clean(value) or "")
        if len(code) != RESUME_CODE_LENGTH:
            raise ValidationError(f"A resume code has {RESUME_CODE_LENGTH} letters and numbers.")
        return code


class ResumeForm(ErrorSummaryMixin, forms.Form):
    code = ResumeCodeField()


class WithdrawForm(ErrorSummaryMixin, forms.Form):
    code = ResumeCodeField()
    confirm = forms.BooleanField(
        label="I want to withdraw. I understand that my answers will be deleted and cannot be recovered.",
        error_messages={"required": "Tick the box to confirm that you want to withdraw."},
    )


# ---- researcher forms -----------------------------------------------------------------------------------


class CriteriaSetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CriteriaSet) -> str:
        current = " (current)" if obj.is_current else ""
        return f"{obj.name} v{obj.version}{current}"


class StudyForm(forms.ModelForm):
    criteria_set = CriteriaSetChoiceField(queryset=CriteriaSet.objects.order_by("key", "-version"))
    prolific_completion_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Prolific completion URL",
        help_text=Study._meta.get_field("prolific_completion_url").help_text,
    )

    class Meta:
        model = Study
        fields = [
            "title",
            "slug",
            "description",
            "criteria_set",
            "consent",
            "quota",
            "completion_code",
            "screenout_code",
            "recruits_on_prolific",
            "prolific_completion_url",
            "support_text",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "support_text": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, locked: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quota"].min_value = 1
        self.fields["quota"].validators.append(_quota_range)
        if not self.instance.pk:
            self.fields["criteria_set"].initial = CriteriaSet.objects.filter(
                key="therapeutic", is_current=True
            ).first()
            self.fields["consent"].initial = ConsentVersion.objects.order_by("-version").first()
        if locked:
            # Participants already answered under these; changing them would mix incomparable data.
            for name in ("slug", "criteria_set", "consent"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed once participants have taken part."

    def clean_prolific_completion_url(self) -> str:
        url = self.cleaned_data["prolific_completion_url"]
        if url and not url.startswith("https://"):
            raise ValidationError("Use an https:// address.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("recruits_on_prolific")
            and not cleaned.get("prolific_completion_url")
            and "prolific_completion_url" not in self.errors
        ):
            self.add_error(
                "prolific_completion_url",
                "A Prolific study needs its completion URL, so that participants can return to "
                "Prolific when they finish. Copy it from the study's settings on Prolific.",
            )
        return cleaned

    def clean_criteria_set(self) -> CriteriaSet:
        criteria_set = self.cleaned_data["criteria_set"]
        if len([c for c in criteria_set.criterion_keys if c not in NON_NEGOTIABLE_CRITERIA]) < 2:
            raise ValidationError("Choose a set with at least two criteria to rank.")
        return criteria_set


def _quota_range(value: int) -> None:
    if not 1 <= value <= 1_000_000:
        raise ValidationError("Set a quota between 1 and 1,000,000.")


class ConsentVersionForm(forms.ModelForm):
    class Meta:
        model = ConsentVersion
        fields = ["title", "body", "agreement"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16})}


class InstrumentEditForm(forms.Form):
    """Wording and options of every item of the current version; saving publishes the next version.

    Options are one per line as `value = Label`. Values are what the data stores, so scales (Likert,
    attention check, importance) keep their values and only their labels change.
    """

    FIXED_SCALE_KINDS = (ItemKind.LIKERT, ItemKind.ATTENTION, ItemKind.IMPORTANCE)

    def __init__(self, *args, instrument: Instrument, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.items = list(instrument.items.order_by("position", "id"))
        for item in self.items:
            self.fields[f"{item.key}-prompt"] = forms.CharField(
                label="Question",
                initial=item.prompt,
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"{item.key}-help_text"] = forms.CharField(
                label="Hint", initial=item.help_text, max_length=1000, required=False
            )
            if item.kind not in (ItemKind.TEXT, ItemKind.RANKING):
                self.fields[f"{item.key}-choices"] = forms.CharField(
                    label="Options (one per line: value = Label)",
                    initial="\n".join(f"{value} = {label}" for value, label in item.choices),
                    max_length=5000,
                    widget=forms.Textarea(attrs={"rows": max(len(item.choices), 2)}),
                )

    def item_rows(self) -> list[tuple[Item, list]]:
        return [
            (
                item,
                [
                    self[name]
                    for name in (f"{item.key}-prompt", f"{item.key}-help_text", f"{item.key}-choices")
                    if name in self.fields
                ],
            )
            for item in self.items
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for item in self.items:
            name = f"{item.key}-choices"
            if name not in self.fields or name not in cleaned:
                continue
            try:
                cleaned[name] = self._parse_choices(item, cleaned[name])
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def _parse_choices(self, item: Item, text: str) -> list[list[str]]:
        choices = []
        for number, line in enumerate(filter(None, (line.strip() for line in text.splitlines())), start=1):
            value, separator, label = (part.strip() for part in line.partition("="))
            if not separator or not value or not label:
                raise ValidationError(f"Line {number} needs the form 'value = Label'.")
            if not re.fullmatch(r"[a-z0-9_]{1,64}", value):
                raise ValidationError(
                    f"Line {number}: values use lower-case letters, digits and underscores."
                )
            choices.append([value, label])
        values = [value for value, _ in choices]
        if len(values) != len(set(values)):
            raise ValidationError("Each option needs its own value.")
        if len(values) < 2:
            raise ValidationError("Keep at least two options.")
        if item.kind in self.FIXED_SCALE_KINDS and values != [str(value) for value, _ in item.choices]:
            raise ValidationError("This scale's values are fixed; change only the labels.")
        kept = set(values)
        if item.exclusive_value and item.exclusive_value not in kept:
            raise ValidationError(
                f"Keep the option '{item.exclusive_value}': it cannot be combined with others."
            )
        if item.eligible_values and not set(item.eligible_values) <= kept:
            raise ValidationError("Keep the options that make a participant eligible.")
        return choices

    def edits(self) -> dict[str, dict[str, Any]]:
        edits = {}
        for item in self.items:
            edit = {
                "prompt": self.cleaned_data[f"{item.key}-prompt"],
                "help_text": self.cleaned_data[f"{item.key}-help_text"],
            }
            if f"{item.key}-choices" in self.cleaned_data:
                edit["choices"] = self.cleaned_data[f"{item.key}-choices"]
            edits[item.key] = edit
        return edits


class PersonaSelectionForm(forms.Form):
    n = forms.IntegerField(label="Personas to select", min_value=1, max_value=100_000, initial=150)
    n_test = forms.IntegerField(
        label="Of which in the test split", min_value=0, max_value=100_000, initial=50
    )
    min_quality = forms.FloatField(label="Minimum quality score", min_value=0, max_value=1, initial=0.5)
    seed = forms.IntegerField(label="Random seed for the split", min_value=0, max_value=2**31 - 1, initial=13)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("n") is not None
            and cleaned.get("n_test") is not None
            and cleaned["n_test"] > cleaned["n"]
        ):
            self.add_error("n_test", "The test split cannot be larger than the selection.")
        return cleaned


class WeightDerivationForm(forms.Form):
    name = forms.CharField(max_length=150, initial="Survey weights")
    safety_floor = forms.FloatField(
        label="Safety floor", min_value=0, max_value=0.95, initial=0.3, help_text="Between 0 and 0.95."
    )
    clusters = forms.IntegerField(
        label="Persona clusters",
        min_value=0,
        max_value=12,
        initial=3,
        help_text="0 for the population weights only.",
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=7)


class ExportForm(forms.Form):
    include_free_text = forms.BooleanField(
        required=False, label="Include free-text answers (may contain identifying details)"
    )


class FlagReviewForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StudyStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[(StudyStatus.OPEN, "Open"), (StudyStatus.CLOSED, "Close")])

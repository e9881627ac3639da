"""The form that queues K responses per question from a model chosen with the model picker."""

from django import forms

from annotation.models import DatasetSnapshot, QuestionBank, Split
from training_worker.forms import ModelPickerField


class GenerationForm(forms.Form):
    snapshot = forms.ModelChoiceField(
        queryset=DatasetSnapshot.objects.none(),
        help_text="A frozen snapshot of a question bank: its split's questions are answered, and the new "
        "response set belongs to its bank.",
    )
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TEST)
    name = forms.CharField(max_length=200, label="Response set name")
    model = ModelPickerField(
        label="Model", help_text="A registered base model, or a succeeded run's trained policy."
    )
    num_responses = forms.IntegerField(
        min_value=1, max_value=20, initial=5, label="Responses per question (K)"
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.8, label="Temperature (T)")
    top_p = forms.FloatField(min_value=0.01, max_value=1, initial=1.0)
    max_new_tokens = forms.IntegerField(min_value=1, max_value=8192, initial=256)
    batch_size = forms.IntegerField(min_value=1, max_value=512, initial=8, help_text="Questions per batch.")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)
    max_questions = forms.IntegerField(min_value=1, max_value=10_000_000, required=False)

    def __init__(self, *args, bank: QuestionBank | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        snapshots = DatasetSnapshot.objects.select_related("response_set__bank").order_by(
            "-created_at", "-id"
        )
        self.fields["snapshot"].queryset = snapshots.filter(response_set__bank=bank) if bank else snapshots
        self.fields["snapshot"].label_from_instance = lambda item: (
            f"{item.name} ({item.short_hash}) · bank {item.response_set.bank.name}"
        )
        self.fields["model"].refresh()

"""The form that queues K responses per question from a policy."""

from django import forms

from annotation.models import DatasetSnapshot, QuestionBank, Split


class GenerationForm(forms.Form):
    snapshot = forms.ModelChoiceField(
        queryset=DatasetSnapshot.objects.none(), help_text="Its split's questions are answered."
    )
    name = forms.CharField(max_length=200)
    policy = forms.CharField(
        max_length=500, help_text="Model directory on the gpu worker (e.g. a base model or an adapter)."
    )
    num_responses = forms.IntegerField(
        min_value=1, max_value=20, initial=5, label="Responses per question (K)"
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.8)
    top_p = forms.FloatField(min_value=0.01, max_value=1, initial=1.0)
    max_new_tokens = forms.IntegerField(min_value=1, max_value=8192, initial=256)
    batch_size = forms.IntegerField(min_value=1, max_value=512, initial=8, help_text="Questions per batch.")
    seed = forms.IntegerField(min_value=0, initial=0)
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TEST)
    max_questions = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, bank: QuestionBank, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["snapshot"].queryset = DatasetSnapshot.objects.filter(response_set__bank=bank)

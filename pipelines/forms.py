"""The researcher's form to start a pipeline: a shipped or pasted plan, a frozen snapshot."""

from pathlib import Path

from django import forms

from annotation.models import DatasetSnapshot

SHIPPED_PLANS = Path(__file__).resolve().parent
PASTED = "pasted"


def shipped_plans() -> dict[str, str]:
    """The plans that come with the platform (`pipelines/*.yaml`), by name."""
    return {path.stem: path.read_text() for path in sorted(SHIPPED_PLANS.glob("*.yaml"))}


class PipelineStartForm(forms.Form):
    plan = forms.ChoiceField(help_text="A plan shipped with the platform, or your own below.")
    text = forms.CharField(
        label="Plan (YAML)",
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Used when the plan above is “pasted”. Format: docs/pipelines.md.",
    )
    snapshot = forms.ModelChoiceField(
        queryset=DatasetSnapshot.objects.order_by("-created_at"), to_field_name="content_hash"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [
            *((name, f"{name}.yaml") for name in shipped_plans()),
            (PASTED, "Pasted below"),
        ]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("plan") == PASTED:
            if not data.get("text", "").strip():
                self.add_error("text", "Paste the plan's YAML.")
            data["plan_text"] = data.get("text", "")
        elif data.get("plan"):
            data["plan_text"] = shipped_plans()[data["plan"]]
        return data

"""Survey records: studies, versioned consent texts and instruments, pseudonymous participants and their
answers, and what researchers derive from completed responses (personas, objective weights).

Participants have no account. A participant row is bound to a browser session and, after the session
ends, reachable only through a resume code whose keyed hash is stored (never the code itself). Prolific
identifiers are stored only as keyed pseudonyms.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from survey_app.pseudonyms import random_code

DEFAULT_SUPPORT_TEXT = (
    "If you are in immediate danger, or feel you might act on thoughts of harming yourself, call your "
    "local emergency number now: 999 or 112 in the UK and Europe, 911 in the US and Canada.\n"
    "To talk to someone at any time, free and in confidence: Samaritans on 116 123 (UK and Ireland, "
    "24 hours a day) or the 988 Suicide & Crisis Lifeline (call or text 988 in the US). "
    "Elsewhere, findahelpline.com lists free local crisis lines."
)


class ConsentVersion(models.Model):
    """An information sheet and consent text. Editing publishes a new version; studies pick one."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="The information sheet, shown in full before the consent question.")
    agreement = models.CharField(
        max_length=300, help_text="The statement the participant ticks to agree, e.g. 'I agree to take part'."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class Instrument(models.Model):
    """One version of the questionnaire. Editing wording or options publishes a new version; a participant
    answers the version that was current when they started, and every answer points at its version's item.
    """

    version = models.PositiveIntegerField(unique=True)
    is_current = models.BooleanField(default=True)
    pages = models.JSONField(
        help_text="Ordered pages: [{'key', 'title', 'intro'}]; the first is eligibility."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="one_current_instrument"
            )
        ]

    def __str__(self) -> str:
        return f"Questionnaire v{self.version}"


class ItemKind(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTI = "multi", "Multiple choice"
    LIKERT = "likert", "5-point agreement"
    ATTENTION = "attention", "Attention check"
    IMPORTANCE = "importance", "Importance of each criterion (1-5)"
    RANKING = "ranking", "Ranking of the criteria"
    TEXT = "text", "Free text"


class Item(models.Model):
    """A question in one instrument version. `key` is stable across versions; exports and analyses use it."""

    instrument = models.ForeignKey(Instrument, related_name="items", on_delete=models.PROTECT)
    key = models.SlugField(max_length=64)
    page = models.SlugField(max_length=64)
    kind = models.CharField(max_length=16, choices=ItemKind)
    prompt = models.TextField()
    help_text = models.TextField(blank=True)
    choices = models.JSONField(
        default=list, blank=True, help_text="[[value, label], ...]; for importance items the scale labels."
    )
    required = models.BooleanField(default=True)
    exclusive_value = models.CharField(
        max_length=64, blank=True, help_text="A multi-choice option that cannot be combined with others."
    )
    expected_value = models.CharField(
        max_length=64, blank=True, help_text="Attention checks: the instructed answer."
    )
    eligible_values = models.JSONField(
        default=list,
        blank=True,
        help_text="Eligibility questions: the answers that let a participant continue.",
    )
    max_length = models.PositiveIntegerField(default=0, help_text="Free text: the most characters accepted.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["instrument", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "key"], name="item_unique_key_in_version")
        ]

    def __str__(self) -> str:
        return f"{self.key} (v{self.instrument.version})"

    @property
    def choice_labels(self) -> dict[str, str]:
        return {str(value): label for value, label in self.choices}


def _random_code() -> str:
    return random_code(8)


class StudyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Study(models.Model):
    slug = models.SlugField(max_length=64, unique=True, help_text="Appears in the study link: /s/<slug>/.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="A short welcome shown above the information sheet.")
    criteria_set = models.ForeignKey(
        "criteria.CriteriaSet",
        on_delete=models.PROTECT,
        help_text="The criteria participants rate and rank (normally the 'therapeutic' set).",
    )
    consent = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, verbose_name="consent version")
    quota = models.PositiveIntegerField(
        default=335, help_text="New participants are turned away at this many completes."
    )
    status = models.CharField(max_length=8, choices=StudyStatus, default=StudyStatus.DRAFT)
    completion_code = models.CharField(max_length=32, default=_random_code)
    screenout_code = models.CharField(max_length=32, default=_random_code)
    recruits_on_prolific = models.BooleanField(
        default=False, help_text="Participants come from Prolific: the completion URL is then required."
    )
    prolific_completion_url = models.URLField(
        blank=True,
        help_text="Where participants from Prolific go after completing (Prolific shows it in the study's "
        "settings, for example https://app.prolific.com/submissions/complete?cc=CODE).",
    )
    support_text = models.TextField(
        default=DEFAULT_SUPPORT_TEXT, help_text="The crisis-support panel shown on every participant page."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title

    @property
    def completion_url_missing(self) -> bool:
        """A Prolific study without its completion URL: completes could not return to Prolific."""
        return self.recruits_on_prolific and not self.prolific_completion_url


class ParticipantStatus(models.TextChoices):
    DECLINED = "declined", "Declined consent"
    CONSENTED = "consented", "Consented (eligibility pending)"
    SCREENED_OUT = "screened_out", "Screened out"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Source(models.TextChoices):
    PROLIFIC = "prolific", "Prolific"
    DIRECT = "direct", "Study link"


class Participant(models.Model):
    """A pseudonymous participant: no name, no email, no account; Prolific ids only as keyed pseudonyms."""

    study = models.ForeignKey(Study, related_name="participants", on_delete=models.PROTECT)
    instrument = models.ForeignKey(Instrument, related_name="participants", on_delete=models.PROTECT)
    consent = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=ParticipantStatus, db_index=True)
    source = models.CharField(max_length=8, choices=Source, default=Source.DIRECT)
    prolific_pid_pseudonym = models.CharField(max_length=64, blank=True)
    prolific_study_pseudonym = models.CharField(max_length=64, blank=True)
    prolific_session_pseudonym = models.CharField(max_length=64, blank=True)
    resume_code_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    pages_done = models.PositiveSmallIntegerField(default=0, help_text="Survey pages completed in order.")
    attention_failures = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    consented_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_from = models.CharField(max_length=16, blank=True, help_text="The status at withdrawal.")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One participation per Prolific participant and study (a second entry must resume instead).
            models.UniqueConstraint(
                fields=["study", "prolific_pid_pseudonym"],
                condition=~Q(prolific_pid_pseudonym=""),
                name="participant_unique_prolific_pid_per_study",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """How the research team refers to a participant (an internal number, not an identity)."""
        return f"P-{self.pk:05d}"

    @property
    def from_prolific(self) -> bool:
        return self.source == Source.PROLIFIC


class Answer(models.Model):
    """One answer. `item` belongs to one instrument version, so every answer records the version it
    answered."""

    participant = models.ForeignKey(Participant, related_name="answers", on_delete=models.CASCADE)
    item = models.ForeignKey(Item, related_name="answers", on_delete=models.PROTECT)
    value = models.JSONField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["participant", "item"], name="answer_unique_per_item")]

    def __str__(self) -> str:
        return f"{self.participant} {self.item.key}"


class Submission(models.Model):
    """The final submit. One per participant, enforced by the database, so retries and two tabs make one."""

    participant = models.OneToOneField(Participant, related_name="submission", on_delete=models.CASCADE)
    submitted_at = models.DateTimeField(default=timezone.now)
    duration_s = models.FloatField(help_text="Seconds from consent to submission.")

    def __str__(self) -> str:
        return f"Submission of {self.participant}"


class SafetyFlag(models.Model):
    """Free text with crisis language, flagged for the research team's follow-up (never blocks anyone)."""

    participant = models.ForeignKey(Participant, related_name="safety_flags", on_delete=models.CASCADE)
    item_key = models.SlugField(max_length=64)
    matched = models.JSONField(default=list, help_text="Which kinds of crisis language were found.")
    flagged_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["reviewed_at", "-flagged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "item_key"],
                condition=Q(reviewed_at__isnull=True),
                name="one_open_flag_per_item",
            )
        ]

    def __str__(self) -> str:
        return f"Flag on {self.participant} ({self.item_key})"


class PersonaSplit(models.TextChoices):
    """The persona-judge split a selected persona is drawn into; NONE ("") while it is not selected.

    Not annotation.models.Split (the train/test split of questions), which has no "not selected" value.
    """

    NONE = "", "Not selected"
    TRAIN = "train", "Train"
    TEST = "test", "Test"


class Persona(models.Model):
    """A structured patient persona written from one complete response, for LLM persona judges."""

    study = models.ForeignKey(Study, related_name="personas", on_delete=models.CASCADE)
    participant = models.OneToOneField(Participant, related_name="persona", on_delete=models.CASCADE)
    text = models.TextField()
    features = models.JSONField(help_text="The answers the text was written from (ratings, ranks, codes).")
    quality_score = models.FloatField(help_text="0-1: 0.4 completeness + 0.4 consistency + 0.2 attention.")
    completeness = models.FloatField()
    consistency = models.FloatField()
    primary_preference = models.SlugField(max_length=64, blank=True, help_text="The criterion ranked first.")
    selected = models.BooleanField(default=False, db_index=True)
    split = models.CharField(max_length=5, choices=PersonaSplit, blank=True, default=PersonaSplit.NONE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-quality_score", "id"]

    def __str__(self) -> str:
        return f"Persona {self.pk} ({self.study.slug})"


class ObjectiveWeightSet(models.Model):
    """MODPO objective weights {criterion_key: weight} (non-negative, summing to 1) and how they were
    derived."""

    class Scope(models.TextChoices):
        POPULATION = "population", "Whole population"
        CLUSTER = "cluster", "Persona cluster"

    name = models.CharField(max_length=200)
    study = models.ForeignKey(Study, related_name="weight_sets", on_delete=models.CASCADE)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.POPULATION)
    weights = models.JSONField()
    safety_floor = models.FloatField()
    derivation = models.JSONField(help_text="Inputs, intermediate values and method, step by step.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    stale_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a participant whose ratings it averages withdrew; derive the weights again.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def stale(self) -> bool:
        """True once a participant it was derived from has withdrawn (its means still count them)."""
        return self.stale_at is not None

"""Evaluation records: head-to-head comparisons of models by judges, and blinded clinician studies.

Head-to-head (study step 9): an :class:`Evaluation` names two or more response sets (one per model), the
questions they share and a judge (LLM persona judges or trained reward models). Every judged comparison is
one :class:`Comparison` row, unique per (question, model pair, judge, presentation order), so a resumed or
redelivered job skips what is done. Failures are stored too and never used as verdicts.

Clinician study (step 10): a :class:`ClinicianStudy` compares two response sets on N scenarios
(:class:`StudyItem`), each assigned to several clinicians (:class:`StudyAssignment`) who rate it per
criterion (:class:`StudyRating`). Everything a clinician sees is addressed by random tokens; which model
was shown as "Response A" is drawn per clinician and item and stored here, never sent to the browser.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotation.models import JudgeEndpointFields, SplitScope

TOKEN_BYTES = 18


def new_token() -> str:
    """An opaque, unguessable identifier for clinician-facing URLs (24 URL-safe characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class JudgeKind(models.TextChoices):
    PERSONA = "persona", "LLM persona judges"
    REWARD_MODEL = "reward_model", "Reward models"


class VoteRule(models.TextChoices):
    PLURALITY = "plurality", "Plurality (A, B or tie: strictly most votes wins)"
    DECISIVE = "decisive", "Decisive (tie votes abstain)"


class Side(models.TextChoices):
    """A model of a pair (model level) or a display position (position level), by context."""

    A = "A", "A"
    B = "B", "B"


class Evaluation(JudgeEndpointFields):
    """Head-to-head evaluation of two or more models (response sets) on the same questions.

    The judge endpoint fields apply to LLM persona judges and are blank for reward-model judges.
    """

    name = models.CharField(max_length=200)
    criteria_set = models.ForeignKey(
        "criteria.CriteriaSet", related_name="evaluations", on_delete=models.PROTECT
    )
    judge_kind = models.CharField(max_length=16, choices=JudgeKind)
    split = models.CharField(max_length=5, choices=SplitScope.choices, default=SplitScope.TEST)
    max_questions = models.PositiveIntegerField(null=True, blank=True)
    response_index = models.PositiveSmallIntegerField(
        default=0, help_text="Which of each question's K candidates represents the model (by index)."
    )
    both_orders = models.BooleanField(
        default=False, help_text="Judge every pair in both presentation orders to cancel position bias."
    )
    vote_rule = models.CharField(max_length=16, choices=VoteRule, default=VoteRule.PLURALITY)
    order_seed = models.IntegerField(default=0, help_text="Seeds the recorded random presentation order.")
    # LLM persona judges
    personas = models.ManyToManyField("annotation.JudgePersona", related_name="evaluations", blank=True)
    # Reward-model judges
    reward_runs = models.ManyToManyField(
        "training_worker.TrainingRun", related_name="evaluations_judged", blank=True
    )
    tie_margin = models.FloatField(
        default=0.0, help_text="Reward difference at or below which a reward model calls a tie."
    )
    score_run = models.ForeignKey(
        "training_worker.TrainingRun",
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        help_text="The latest scoring run (method 'score') on the gpu queue.",
    )
    job = models.ForeignKey(
        "core.Job",
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        help_text="The latest execution (a relaunch resumes and skips finished comparisons).",
    )
    results = models.JSONField(default=dict, blank=True, help_text="Statistics as last computed.")
    results_computed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Entrant(models.Model):
    """One model entered in an evaluation: a response set and the label figures use for it."""

    evaluation = models.ForeignKey(Evaluation, related_name="entrants", on_delete=models.CASCADE)
    response_set = models.ForeignKey("annotation.ResponseSet", related_name="+", on_delete=models.PROTECT)
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["evaluation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "response_set"], name="entrant_unique_set"),
            models.UniqueConstraint(fields=["evaluation", "label"], name="entrant_unique_label"),
            models.UniqueConstraint(fields=["evaluation", "position"], name="entrant_unique_position"),
        ]

    def __str__(self) -> str:
        return self.label


class Comparison(models.Model):
    """One judge's verdicts on one question for one model pair in one presentation order.

    ``first_model`` says which model of the pair (``A`` = ``model_a``) was shown first ("Response A").
    ``verdicts`` are position-level as judged ({criterion: "first" | "second" | "tie"}); ``outcomes`` the
    same verdicts at model level ({criterion: "A" | "B" | "tie"}). A failed comparison has neither.
    """

    evaluation = models.ForeignKey(Evaluation, related_name="comparisons", on_delete=models.CASCADE)
    question = models.ForeignKey("annotation.Question", related_name="+", on_delete=models.PROTECT)
    model_a = models.ForeignKey(Entrant, related_name="+", on_delete=models.CASCADE)
    model_b = models.ForeignKey(Entrant, related_name="+", on_delete=models.CASCADE)
    judge_key = models.CharField(max_length=40, help_text="'persona:<id>' or 'reward_models'.")
    persona = models.ForeignKey(
        "annotation.JudgePersona", null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    first_model = models.CharField(max_length=1, choices=Side)
    response_first = models.ForeignKey(
        "annotation.CandidateResponse", related_name="+", on_delete=models.PROTECT
    )
    response_second = models.ForeignKey(
        "annotation.CandidateResponse", related_name="+", on_delete=models.PROTECT
    )
    ok = models.BooleanField()
    verdicts = models.JSONField(null=True, blank=True)
    outcomes = models.JSONField(null=True, blank=True)
    scores = models.JSONField(
        null=True, blank=True, help_text="Reward models: {criterion: [first reward, second reward]}."
    )
    failure_kind = models.CharField(max_length=32, blank=True)
    failure_reason = models.TextField(blank=True)
    raw_text = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    elapsed_s = models.FloatField(default=0.0)
    usage = models.JSONField(null=True, blank=True)
    judge_settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["evaluation", "question", "model_a", "model_b", "judge_key", "first_model"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "question", "model_a", "model_b", "judge_key", "first_model"],
                name="comparison_unique_item",
            )
        ]
        indexes = [models.Index(fields=["evaluation", "ok"], name="comparison_eval_ok")]

    def __str__(self) -> str:
        return f"Comparison {self.pk} ({'ok' if self.ok else self.failure_kind})"


# ---- blinded clinician studies ----------------------------------------------------------------------


class ClinicianStudy(models.Model):
    """Blinded pairwise comparison of two response sets by clinicians.

    ``name``, ``label_a`` and ``label_b`` are for researchers only; clinicians see ``clinician_title`` and
    ``instructions``, which are checked to name neither model.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    clinician_title = models.CharField(max_length=200, default="Response comparison study")
    instructions = models.TextField(blank=True)
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    criteria_set = models.ForeignKey("criteria.CriteriaSet", related_name="+", on_delete=models.PROTECT)
    response_set_a = models.ForeignKey("annotation.ResponseSet", related_name="+", on_delete=models.PROTECT)
    response_set_b = models.ForeignKey("annotation.ResponseSet", related_name="+", on_delete=models.PROTECT)
    label_a = models.CharField(max_length=120)
    label_b = models.CharField(max_length=120)
    trained_model = models.CharField(
        max_length=1,
        choices=Side,
        blank=True,
        help_text="Which model is the trained one (the blinding question asks clinicians to guess it).",
    )
    response_index = models.PositiveSmallIntegerField(default=0)
    split = models.CharField(max_length=5, choices=SplitScope.choices, default=SplitScope.TEST)
    raters_per_item = models.PositiveSmallIntegerField(default=2)
    ask_blinding_guess = models.BooleanField(default=False)
    judge_evaluation = models.ForeignKey(
        Evaluation,
        null=True,
        blank=True,
        related_name="clinician_studies",
        on_delete=models.SET_NULL,
        help_text="A head-to-head evaluation of the same two response sets, for judge-clinician agreement.",
    )
    seed = models.IntegerField(default=0)
    clinicians = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="clinician_studies")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    unblinded_at = models.DateTimeField(null=True, blank=True)
    unblinded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "clinician studies"

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def is_unblinded(self) -> bool:
        return self.unblinded_at is not None


class StudyItem(models.Model):
    """One scenario: a question and each model's response to it. Calibration items go to every clinician."""

    study = models.ForeignKey(ClinicianStudy, related_name="items", on_delete=models.CASCADE)
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    question = models.ForeignKey("annotation.Question", related_name="+", on_delete=models.PROTECT)
    response_a = models.ForeignKey("annotation.CandidateResponse", related_name="+", on_delete=models.PROTECT)
    response_b = models.ForeignKey("annotation.CandidateResponse", related_name="+", on_delete=models.PROTECT)
    is_calibration = models.BooleanField(default=False)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["study", "position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "question"], name="study_item_unique_question")
        ]

    def __str__(self) -> str:
        return f"Item {self.position} of study {self.study_id}"


class StudyAssignment(models.Model):
    """One clinician's copy of one item: the display order drawn for them, their progress and notes.

    ``model_in_position_a`` is the study model (``A`` = ``response_set_a``) shown to this clinician as
    "Response A". ``blinding_guess`` is position-level ("A", "B" or "dont_know").
    """

    class Guess(models.TextChoices):
        A = "A", "Response A"
        B = "B", "Response B"
        DONT_KNOW = "dont_know", "Don't know"

    item = models.ForeignKey(StudyItem, related_name="assignments", on_delete=models.CASCADE)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="study_assignments", on_delete=models.PROTECT
    )
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    model_in_position_a = models.CharField(max_length=1, choices=Side)
    sequence = models.PositiveIntegerField(help_text="Order in this clinician's queue.")
    comment = models.TextField(blank=True)
    flagged_unsafe = models.BooleanField(default=False)
    flag_note = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the clinician skipped the item; cleared if they submit it."
    )
    skip_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    blinding_guess = models.CharField(max_length=9, choices=Guess.choices, blank=True)

    class Meta:
        ordering = ["clinician", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["item", "clinician"], name="assignment_unique_clinician"),
        ]
        indexes = [models.Index(fields=["clinician", "sequence"], name="assignment_queue")]

    def __str__(self) -> str:
        return f"Assignment {self.pk}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def is_skipped(self) -> bool:
        return self.skipped_at is not None

    @property
    def is_finished(self) -> bool:
        """Submitted or skipped: nothing more is asked of the clinician for this item."""
        return self.is_submitted or self.is_skipped


class StudyRating(models.Model):
    """A clinician's choice on one criterion, position-level as displayed: "A", "B" or "tie"."""

    class Choice(models.TextChoices):
        A = "A", "Response A is better"
        B = "B", "Response B is better"
        TIE = "tie", "Tie"

    assignment = models.ForeignKey(StudyAssignment, related_name="ratings", on_delete=models.CASCADE)
    criterion_key = models.SlugField(max_length=64)
    choice = models.CharField(max_length=3, choices=Choice.choices)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assignment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "criterion_key"], name="study_rating_unique"),
            models.CheckConstraint(
                condition=Q(choice__in=["A", "B", "tie"]), name="study_rating_valid_choice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_key}: {self.choice}"

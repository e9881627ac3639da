"""Ranking-task API. Annotators list, read and answer only their own tasks; researchers may list and read all
tasks and create campaigns. Nobody is ever shown another annotator's ranking here."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import RankingCampaign, RankingTask, ResponseSet, SplitScope
from annotation.selectors.campaigns import (
    campaigns_list,
    task_criteria,
    task_responses_shown,
    tasks_visible_to,
)
from annotation.services.ranking import (
    ranking_campaign_create,
    ranking_task_skip,
    ranking_task_submit,
)
from core.api import StrictSerializer
from core.permissions import IsAnnotator, IsResearcher
from core.roles import Role, user_has_role
from criteria.models import CriteriaSet
from survey_app.pseudonyms import keyed_pseudonym

MAX_CRITERIA = 50
MAX_K = 50
SHOWN_ID_CHARS = 16


class IsResearcherOrAnnotator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, Role.RESEARCHER, Role.ANNOTATOR)


class TaskSerializer(serializers.ModelSerializer):
    campaign = serializers.CharField(source="campaign.name")
    question_id = serializers.CharField(source="question.external_id")

    class Meta:
        model = RankingTask
        fields = ["id", "campaign", "question_id", "state", "flagged_harmful", "assigned_at", "submitted_at"]


class ShownResponseSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="Opaque id, stable within this task only (database ids could reveal a response's origin)."
    )
    position = serializers.IntegerField(help_text="1-based position as shown.")
    text = serializers.CharField()


class TaskCriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    question = serializers.CharField()


class TaskDetailSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    allow_ties = serializers.BooleanField()
    instructions = serializers.CharField()
    question = serializers.CharField()
    responses = ShownResponseSerializer(many=True)
    criteria = TaskCriterionSerializer(many=True)
    my_rankings = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Your own submitted ranks per criterion, in the order shown (empty until you submit).",
    )


class TaskSubmitSerializer(StrictSerializer):
    rankings = serializers.DictField(
        child=serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_K), max_length=MAX_K
        ),
        allow_empty=False,
        help_text="Per criterion key, the rank (1 = best) of each response in the order shown.",
    )
    flagged_harmful = serializers.BooleanField(default=False)
    flag_note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    def validate_rankings(self, value):
        if len(value) > MAX_CRITERIA:
            raise serializers.ValidationError(f"At most {MAX_CRITERIA} criteria.")
        return value


class TaskSkipSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=5000)
    flagged_harmful = serializers.BooleanField(default=False)
    flag_note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


def _visible_task(request, pk: int) -> RankingTask:
    task = tasks_visible_to(user=request.user).filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    return task


def shown_response_id(*, task: RankingTask, response_id: int) -> str:
    """A per-task keyed pseudonym for a response: the same response gets unrelated ids in different tasks."""
    return keyed_pseudonym(purpose="ranking-task-response", value=f"{task.pk}:{response_id}")[:SHOWN_ID_CHARS]


def task_detail_data(task: RankingTask, *, for_annotator: bool) -> dict:
    shown = task_responses_shown(task=task)
    position = {response.pk: index for index, response in enumerate(shown)}
    my_rankings = {}
    if for_annotator:
        canonical = sorted(shown, key=lambda response: response.index)
        for ranking in task.rankings.all():
            display = [0] * len(shown)
            for rank, response in zip(ranking.ranks, canonical, strict=True):
                display[position[response.pk]] = rank
            my_rankings[ranking.criterion_key] = display
    return {
        "id": task.pk,
        "state": task.state,
        "allow_ties": task.campaign.allow_ties,
        "instructions": task.campaign.instructions,
        "question": task.question.text,
        "responses": [
            {
                "id": shown_response_id(task=task, response_id=response.pk),
                "position": index + 1,
                "text": response.text,
            }
            for index, response in enumerate(shown)
        ],
        "criteria": [
            {"key": criterion.key, "name": criterion.name, "question": criterion.question}
            for criterion in task_criteria(task=task)
        ],
        "my_rankings": my_rankings,
    }


@extend_schema(summary="Ranking tasks you may see (annotators: only your own)")
class TaskListApi(ListAPIView):
    permission_classes = [IsResearcherOrAnnotator]
    serializer_class = TaskSerializer

    def get_queryset(self):
        return tasks_visible_to(user=self.request.user)


class TaskDetailApi(APIView):
    permission_classes = [IsResearcherOrAnnotator]

    @extend_schema(
        summary="One ranking task, responses in your display order", responses=TaskDetailSerializer
    )
    def get(self, request, pk: int):
        task = _visible_task(request, pk)
        return Response(task_detail_data(task, for_annotator=task.annotator_id == request.user.pk))


class TaskSubmitApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(
        summary="Submit your rankings for a task (final)",
        request=TaskSubmitSerializer,
        responses={200: TaskSerializer},
    )
    def post(self, request, pk: int):
        task = _visible_task(request, pk)
        serializer = TaskSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        task = ranking_task_submit(
            task=task,
            annotator=request.user,
            rankings=data["rankings"],
            flagged_harmful=data["flagged_harmful"],
            flag_note=data["flag_note"],
            comment=data["comment"],
        )
        return Response(TaskSerializer(task).data)


class TaskSkipApi(APIView):
    permission_classes = [IsAnnotator]

    @extend_schema(
        summary="Skip a task with a reason", request=TaskSkipSerializer, responses={200: TaskSerializer}
    )
    def post(self, request, pk: int):
        task = _visible_task(request, pk)
        serializer = TaskSkipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = ranking_task_skip(task=task, annotator=request.user, **serializer.validated_data)
        return Response(TaskSerializer(task).data)


class CampaignSerializer(serializers.ModelSerializer):
    response_set = serializers.PrimaryKeyRelatedField(read_only=True)
    criteria_set = serializers.CharField(source="criteria_set.key")
    criteria_set_version = serializers.IntegerField(source="criteria_set.version")
    total = serializers.IntegerField(read_only=True)
    submitted = serializers.IntegerField(read_only=True)
    skipped = serializers.IntegerField(read_only=True)
    flagged = serializers.IntegerField(read_only=True)

    class Meta:
        model = RankingCampaign
        fields = [
            "id",
            "name",
            "response_set",
            "criteria_set",
            "criteria_set_version",
            "annotators_per_item",
            "allow_ties",
            "split",
            "is_open",
            "created_at",
            "total",
            "submitted",
            "skipped",
            "flagged",
        ]


class CampaignCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    response_set = serializers.IntegerField(min_value=1, max_value=2**62)
    criteria_set = serializers.SlugField(
        max_length=64, help_text="Key of a criteria set (its current version)."
    )
    annotators = serializers.ListField(
        child=serializers.CharField(max_length=150), min_length=1, max_length=500, help_text="Usernames."
    )
    annotators_per_item = serializers.IntegerField(min_value=1, max_value=100, default=3)
    allow_ties = serializers.BooleanField(default=False)
    split = serializers.ChoiceField(choices=SplitScope.choices, default=SplitScope.ALL)
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class CampaignListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return campaigns_list()

    @extend_schema(
        summary="Create a ranking campaign and assign its tasks",
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer},
    )
    def post(self, request):
        serializer = CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        response_set = ResponseSet.objects.filter(pk=data["response_set"]).first()
        criteria_set = CriteriaSet.objects.filter(key=data["criteria_set"], is_current=True).first()
        users = list(get_user_model().objects.filter(username__in=data["annotators"]))
        errors = {}
        if response_set is None:
            errors["response_set"] = ["No such response set."]
        if criteria_set is None:
            errors["criteria_set"] = ["No such criteria set."]
        unknown = sorted(set(data["annotators"]) - {user.get_username() for user in users})
        if unknown:
            errors["annotators"] = [f"Unknown users: {', '.join(unknown)}."]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        campaign = ranking_campaign_create(
            name=data["name"],
            response_set=response_set,
            criteria_set=criteria_set,
            annotators=users,
            annotators_per_item=data["annotators_per_item"],
            allow_ties=data["allow_ties"],
            split=data["split"],
            instructions=data["instructions"],
            created_by=request.user,
        )
        return Response(CampaignSerializer(campaigns_list().get(pk=campaign.pk)).data, status=201)

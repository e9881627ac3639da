"""Researcher API for preference data: question banks, response sets, personas, item rankings, agreement."""

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import JudgePersona, QuestionBank, RankingCampaign, ResponseSet, Split
from annotation.selectors.judging import personas_list
from annotation.selectors.rankings import item_detail
from annotation.selectors.responses import question_banks_list, response_sets_list
from annotation.services.agreement import AgreementScope, agreement_for
from annotation.services.personas import judge_personas_import
from core.api import StrictSerializer
from core.permissions import IsResearcher
from criteria.models import CriteriaSet

MAX_PERSONA_UPLOAD_CHARS = 2_000_000


class QuestionBankSerializer(serializers.ModelSerializer):
    question_count = serializers.IntegerField(read_only=True)
    test_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = QuestionBank
        fields = ["id", "name", "source", "question_count", "test_count", "import_settings", "created_at"]


class ResponseSetSerializer(serializers.ModelSerializer):
    bank = serializers.PrimaryKeyRelatedField(read_only=True)
    training_run = serializers.PrimaryKeyRelatedField(read_only=True)
    response_count = serializers.IntegerField(read_only=True)
    question_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ResponseSet
        fields = [
            "id",
            "name",
            "bank",
            "origin",
            "source",
            "state",
            "training_run",
            "generation_settings",
            "response_count",
            "question_count",
            "created_at",
        ]


class JudgePersonaSerializer(serializers.ModelSerializer):
    class Meta:
        model = JudgePersona
        fields = ["id", "origin", "source_id", "split", "text", "created_at", "withdrawn_at"]


class JudgePersonaImportSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=["text", "csv", "jsonl"])
    content = serializers.CharField(max_length=MAX_PERSONA_UPLOAD_CHARS, trim_whitespace=False)
    default_split = serializers.ChoiceField(choices=Split.choices, default=Split.TRAIN)


class ImportReportSerializer(serializers.Serializer):
    rows_read = serializers.IntegerField()
    rows_accepted = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField())


class QuestionBankListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = QuestionBankSerializer

    def get_queryset(self):
        return question_banks_list()


class ResponseSetListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = ResponseSetSerializer

    def get_queryset(self):
        return response_sets_list()


class PersonaListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = JudgePersonaSerializer

    def get_queryset(self):
        return personas_list()


class PersonaImportApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Import judge personas: plain text (blocks split by '---' lines), or CSV / JSONL with text",
        request=JudgePersonaImportSerializer,
        responses={201: ImportReportSerializer},
    )
    def post(self, request):
        serializer = JudgePersonaImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = judge_personas_import(
            data=data["content"].encode("utf-8"),
            file_format=data["format"],
            default_split=data["default_split"],
            created_by=request.user,
        )
        return Response(ImportReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ItemRankingSerializer(serializers.Serializer):
    rater = serializers.CharField()
    kind = serializers.CharField()
    source = serializers.CharField()
    state = serializers.CharField()
    ranks = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    flagged_harmful = serializers.BooleanField()
    failure_kind = serializers.CharField()


class ItemAggregateSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    scores = serializers.ListField(child=serializers.FloatField())
    best_response = serializers.IntegerField(allow_null=True)
    worst_response = serializers.IntegerField(allow_null=True)
    n_valid = serializers.IntegerField()
    kendall_w = serializers.FloatField(allow_null=True)


class ItemSerializer(serializers.Serializer):
    question = serializers.CharField()
    responses = serializers.ListField(child=serializers.DictField())
    rankings = ItemRankingSerializer(many=True)
    aggregates = ItemAggregateSerializer(many=True)


def _response_set(pk: int) -> ResponseSet:
    response_set = ResponseSet.objects.select_related("bank").filter(pk=pk).first()
    if response_set is None:
        raise Http404("No such response set.")
    return response_set


class ItemRankingsApi(APIView):
    """Every ranking of one question of a response set (human and judge), with the aggregate."""

    permission_classes = [IsResearcher]

    @extend_schema(
        summary="All rankings of one item, ranks in canonical response order",
        parameters=[
            OpenApiParameter("criteria_set", str, description="Criteria set key (default: therapeutic)")
        ],
        responses=ItemSerializer,
    )
    def get(self, request, pk: int, question_pk: int):
        response_set = _response_set(pk)
        question = response_set.bank.questions.filter(pk=question_pk).first()
        if question is None:
            raise Http404("No such question in this response set's bank.")
        keys = _criteria_keys(request)
        detail = item_detail(response_set=response_set, question_id=question.pk, criteria_keys=keys)
        rankings = [
            {
                "rater": task.annotator.get_username(),
                "kind": "annotator",
                "source": f"campaign:{task.campaign_id}",
                "state": task.state,
                "ranks": detail.human.get(task.pk, {}),
                "flagged_harmful": task.flagged_harmful,
                "failure_kind": "",
            }
            for task in detail.tasks
        ] + [
            {
                "rater": f"persona:{judgement.persona_id}",
                "kind": "persona",
                "source": f"judge_job:{judgement.judge_job_id}",
                "state": "ok" if judgement.ok else "failed",
                "ranks": judgement.ranks or {},
                "flagged_harmful": False,
                "failure_kind": judgement.failure_kind,
            }
            for judgement in detail.judgements
        ]
        aggregates = [
            {
                "criterion": result.criterion,
                "scores": list(result.scores),
                "best_response": int(result.response_ids[result.best_index])
                if result.best_index is not None
                else None,
                "worst_response": int(result.response_ids[result.worst_index])
                if result.worst_index is not None
                else None,
                "n_valid": result.n_valid,
                "kendall_w": result.kendall_w,
            }
            for result in detail.aggregates
        ]
        data = {
            "question": question.text,
            "responses": [
                {"id": r.pk, "index": r.index, "origin": r.origin, "text": r.text} for r in detail.responses
            ],
            "rankings": rankings,
            "aggregates": aggregates,
        }
        return Response(ItemSerializer(data).data)


def _criteria_keys(request) -> list[str]:
    key = request.query_params.get("criteria_set", "therapeutic")[:64]
    criteria_set = CriteriaSet.objects.filter(key=key, is_current=True).prefetch_related("criteria").first()
    if criteria_set is None:
        raise Http404("No such criteria set.")
    return criteria_set.criterion_keys


class AgreementSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    items = serializers.IntegerField()
    items_ranked = serializers.IntegerField()
    items_multi = serializers.IntegerField()
    rankings = serializers.IntegerField()
    invalid = serializers.IntegerField()
    mean_raters = serializers.FloatField(allow_null=True)
    mean_kendall_w = serializers.FloatField(allow_null=True)
    krippendorff_alpha = serializers.FloatField(allow_null=True)


class CampaignAgreementApi(APIView):
    """Coverage and inter-rater agreement of one human ranking campaign, per criterion."""

    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Coverage, Kendall's W and Krippendorff's alpha per criterion",
        responses={
            200: AgreementSerializer(many=True),
            202: OpenApiResponse(description="Large data: computing in a background job (`job`, `job_url`)."),
        },
    )
    def get(self, request, pk: int):
        campaign = (
            RankingCampaign.objects.select_related("response_set", "criteria_set").filter(pk=pk).first()
        )
        if campaign is None:
            raise Http404("No such campaign.")
        agreement = agreement_for(
            scope=AgreementScope.of_campaign(campaign),
            actor=request.user,
        )
        if agreement.state != "ready":
            return Response(
                {
                    "detail": f"Agreement is computed in job {agreement.job.pk}; ask again when it ends.",
                    "state": agreement.state,
                    "job": agreement.job.pk,
                    "job_url": reverse("api-job-status", args=[agreement.job.pk]),
                },
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(AgreementSerializer(agreement.rows, many=True).data)

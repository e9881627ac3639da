"""Researcher API for the survey: studies with progress, personas for judging, objective-weight sets.
One class per operation; every view names its permission (the project default denies)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictSerializer
from core.permissions import IsResearcher
from survey_app.models import ObjectiveWeightSet, Persona, PersonaSplit, Study
from survey_app.selectors import objective_weight_sets, personas_for_judging, studies_overview, study_progress
from survey_app.services.derived import personas_select, weight_sets_derive


def _study_or_404(slug: str) -> Study:
    try:
        return Study.objects.select_related("criteria_set", "consent").get(slug=slug)
    except Study.DoesNotExist as error:
        raise Http404("No such study.") from error


class SurveyStudySerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="status", help_text="draft, open or closed.")
    criteria_set = serializers.SerializerMethodField()
    consent_version = serializers.IntegerField(source="consent.version")
    completes = serializers.IntegerField(read_only=True)
    partials = serializers.IntegerField(read_only=True)

    class Meta:
        model = Study
        fields = [
            "slug",
            "title",
            "state",
            "quota",
            "criteria_set",
            "consent_version",
            "completes",
            "partials",
            "created_at",
        ]

    def get_criteria_set(self, study: Study) -> str:
        return f"{study.criteria_set.key} v{study.criteria_set.version}"


class ProgressSerializer(serializers.Serializer):
    completes = serializers.IntegerField()
    partials = serializers.IntegerField()
    screened_out = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    declined = serializers.IntegerField()
    attention_failures = serializers.IntegerField(
        help_text="Completes that failed at least one attention check."
    )
    median_duration_s = serializers.FloatField(allow_null=True)
    quota = serializers.IntegerField()
    quota_reached = serializers.BooleanField()


class SurveyStudyDetailSerializer(SurveyStudySerializer):
    progress = serializers.SerializerMethodField()

    class Meta(SurveyStudySerializer.Meta):
        fields = [*SurveyStudySerializer.Meta.fields, "progress"]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, study: Study) -> dict:
        return ProgressSerializer(study_progress(study=study)).data


class SurveyPersonaSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.slug")
    split = serializers.CharField(help_text="'train', 'test', or '' when not selected.")

    class Meta:
        model = Persona
        fields = [
            "id",
            "study",
            "text",
            "quality_score",
            "completeness",
            "consistency",
            "primary_preference",
            "selected",
            "split",
            "created_at",
        ]


class WeightSetSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.slug")
    scope = serializers.CharField(help_text="'population' or 'cluster'.")
    weights = serializers.DictField(
        child=serializers.FloatField(), help_text="{criterion_key: weight}, summing to 1."
    )
    derivation = serializers.JSONField()
    stale = serializers.BooleanField(
        read_only=True,
        help_text="A participant it averages withdrew (at stale_at); derive the weights again.",
    )

    class Meta:
        model = ObjectiveWeightSet
        fields = [
            "id",
            "name",
            "study",
            "scope",
            "weights",
            "safety_floor",
            "derivation",
            "created_at",
            "stale",
            "stale_at",
        ]


class StudyListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = SurveyStudySerializer

    @extend_schema(summary="Survey studies with their numbers of complete and partial responses")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return studies_overview()


class StudyDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="One survey study with its progress", responses=SurveyStudyDetailSerializer)
    def get(self, request, slug: str):
        study = studies_overview().filter(slug=slug).first()
        if study is None:
            raise Http404("No such study.")
        return Response(SurveyStudyDetailSerializer(study).data)


class PersonaFilterSerializer(serializers.Serializer):
    split = serializers.CharField(required=False, max_length=5, help_text="'train' or 'test'.")

    def validate_split(self, value: str) -> str:
        if value not in (PersonaSplit.TRAIN, PersonaSplit.TEST):
            raise serializers.ValidationError("Use 'train' or 'test'.")
        return value


class PersonaListApi(ListAPIView):
    """Selected personas of a study (the set persona judges use), optionally one split."""

    permission_classes = [IsResearcher]
    serializer_class = SurveyPersonaSerializer

    @extend_schema(summary="A study's selected personas", parameters=[PersonaFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = PersonaFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return personas_for_judging(
            study=_study_or_404(self.kwargs["slug"]), split=filters.validated_data.get("split")
        )


class PersonaSelectionInSerializer(StrictSerializer):
    n = serializers.IntegerField(min_value=1, max_value=100_000, help_text="How many personas to select.")
    n_test = serializers.IntegerField(
        min_value=0, max_value=100_000, help_text="How many of them go to test."
    )
    min_quality = serializers.FloatField(min_value=0, max_value=1, default=0.5)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=13)


class PersonaSelectionOutSerializer(serializers.Serializer):
    selected = serializers.IntegerField()
    train = serializers.IntegerField()
    test = serializers.IntegerField()


class PersonaSelectionApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Select N diverse personas and split them train/test, stratified by primary preference",
        request=PersonaSelectionInSerializer,
        responses={200: PersonaSelectionOutSerializer},
    )
    def post(self, request, slug: str):
        study = _study_or_404(slug)
        serializer = PersonaSelectionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        summary = personas_select(study=study, actor=request.user, **serializer.validated_data)
        return Response(PersonaSelectionOutSerializer(summary).data)


class WeightSetFilterSerializer(serializers.Serializer):
    study = serializers.SlugField(max_length=64, required=False)


class WeightSetListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = WeightSetSerializer

    @extend_schema(
        summary="MODPO objective-weight sets, newest first", parameters=[WeightSetFilterSerializer]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = WeightSetFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        slug = filters.validated_data.get("study")
        return objective_weight_sets(study=_study_or_404(slug) if slug else None)


class WeightDerivationInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    safety_floor = serializers.FloatField(min_value=0, max_value=0.95)
    clusters = serializers.IntegerField(min_value=0, max_value=12, default=0)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=7)


class WeightSetDeriveApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Derive objective weights from importance ratings (population, and per persona cluster)",
        request=WeightDerivationInSerializer,
        responses={201: WeightSetSerializer(many=True)},
    )
    def post(self, request, slug: str):
        study = _study_or_404(slug)
        serializer = WeightDerivationInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = weight_sets_derive(study=study, actor=request.user, **serializer.validated_data)
        return Response(WeightSetSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

"""What researchers derive from complete responses: personas (built, scored, selected and split) and
MODPO objective weights (whole population and persona clusters). Audit-logged."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from core.errors import ApplicationError
from core.services import audit_record
from survey_app import instrument as keys
from survey_app.analysis import personas as persona_analysis
from survey_app.analysis.weights import derive_weights, mean_importance
from survey_app.models import ObjectiveWeightSet, Persona, PersonaSplit, Study
from survey_app.selectors import completed_responses, rankable_criteria, study_criteria

WEIGHT_METHOD = (
    "w_c = mean importance of c / sum of the means over all criteria; if w_safety is below the floor it is "
    "raised to the floor and every other weight is multiplied by (1 - floor) / (1 - w_safety), keeping their "
    "ratios and a sum of 1."
)


class DerivationError(ApplicationError):
    """Personas or weights cannot be derived as asked (too few responses, an impossible split or floor)."""


@contextmanager
def _analysis_refusals() -> Iterator[None]:
    """The Django-free analysis package refuses impossible inputs with ValueError; report them as
    DerivationError so the researcher sees the reason."""
    try:
        yield
    except ValueError as exc:
        raise DerivationError(str(exc)) from exc


def personas_build(*, study: Study, actor: AbstractBaseUser) -> int:
    """Write (or rewrite) one persona per complete response. Selection and split are kept on a rewrite."""
    responses = completed_responses(study=study)
    with transaction.atomic():
        for participant, response in responses:
            scores = persona_analysis.quality(response)
            Persona.objects.update_or_create(
                participant=participant,
                defaults={
                    "study": study,
                    "text": persona_analysis.persona_text(response),
                    "features": persona_analysis.features(response),
                    "quality_score": scores.score,
                    "completeness": scores.completeness,
                    "consistency": scores.consistency,
                    "primary_preference": persona_analysis.primary_preference(response),
                },
            )
        audit_record(
            action="survey.personas_build", actor=actor, obj=study, detail={"personas": len(responses)}
        )
    return len(responses)


def personas_select(
    *, study: Study, actor: AbstractBaseUser, n: int, n_test: int, min_quality: float, seed: int
) -> dict[str, int]:
    """Select `n` diverse personas of at least `min_quality` and split them train/test, stratified by
    primary preference. Replaces any earlier selection of this study. Raises DerivationError if impossible."""
    if n_test > n:
        raise DerivationError("The test split cannot be larger than the selection.")
    personas = list(Persona.objects.filter(study=study).order_by("pk"))
    candidates = [
        persona_analysis.Candidate(
            id=p.pk, quality=p.quality_score, stratum=p.primary_preference, features=p.features
        )
        for p in personas
    ]
    criteria = study_criteria(study=study)
    matrix = persona_analysis.feature_matrix(
        candidates,
        criteria=[c.key for c in criteria],
        rankable=[c.key for c in rankable_criteria(criteria=criteria)],
    )
    with _analysis_refusals():
        chosen = set(persona_analysis.select_diverse(candidates, matrix, n=n, min_quality=min_quality))
        split = persona_analysis.stratified_split(
            [c for c in candidates if c.id in chosen], n_test=n_test, seed=seed
        )
    with transaction.atomic():
        Persona.objects.filter(study=study).update(selected=False, split=PersonaSplit.NONE)
        for name in (PersonaSplit.TRAIN, PersonaSplit.TEST):
            Persona.objects.filter(pk__in=[pk for pk, s in split.items() if s == name]).update(
                selected=True, split=name
            )
        summary = {"selected": len(chosen), "train": n - n_test, "test": n_test}
        audit_record(
            action="survey.personas_select",
            actor=actor,
            obj=study,
            detail={**summary, "min_quality": min_quality, "seed": seed},
        )
    return summary


def weight_sets_derive(
    *, study: Study, actor: AbstractBaseUser, name: str, safety_floor: float, clusters: int, seed: int
) -> list[ObjectiveWeightSet]:
    """Objective weights for the whole population and, when `clusters` > 0, for each k-means cluster of the
    study's personas (the selected ones if there is a selection), each with its derivation."""
    criteria = [c.key for c in study_criteria(study=study)]
    criteria_set = {"key": study.criteria_set.key, "version": study.criteria_set.version}
    ratings = [
        response.answers[keys.IMPORTANCE]
        for _, response in completed_responses(study=study)
        if isinstance(response.answers.get(keys.IMPORTANCE), dict)
    ]
    if not ratings:
        raise DerivationError("There are no complete responses to derive weights from yet.")
    safety_key = keys.SAFETY if keys.SAFETY in criteria else None
    common = {
        "method": WEIGHT_METHOD,
        "criteria_set": criteria_set,
        "safety_key": safety_key,
        "safety_floor": safety_floor,
    }
    with _analysis_refusals():
        population = derive_weights(
            means=mean_importance(ratings=ratings, criteria=criteria),
            safety_key=keys.SAFETY,
            safety_floor=safety_floor,
        )
    weight_sets = [
        ObjectiveWeightSet(
            name=f"{name} · population",
            study=study,
            scope=ObjectiveWeightSet.Scope.POPULATION,
            weights=population.weights,
            safety_floor=safety_floor,
            derivation={
                **common,
                "group": "all complete responses",
                "n": len(ratings),
                **population.as_dict(),
            },
            created_by=actor,
        )
    ]
    if clusters:
        with _analysis_refusals():
            weight_sets += _cluster_weight_sets(
                study=study,
                actor=actor,
                name=name,
                criteria=criteria,
                clusters=clusters,
                seed=seed,
                common=common,
            )
    with transaction.atomic():
        for weight_set in weight_sets:
            weight_set.save()
        audit_record(
            action="survey.weights_derive",
            actor=actor,
            obj=study,
            detail={"sets": [w.pk for w in weight_sets], "safety_floor": safety_floor, "clusters": clusters},
        )
    return weight_sets


def _cluster_weight_sets(
    *,
    study: Study,
    actor: AbstractBaseUser,
    name: str,
    criteria: list[str],
    clusters: int,
    seed: int,
    common: dict,
) -> list[ObjectiveWeightSet]:
    # scipy is imported when used: the web process should not load it at start-up.
    from scipy.cluster.vq import kmeans2

    personas = Persona.objects.filter(study=study)
    if personas.filter(selected=True).exists():
        personas, pool = personas.filter(selected=True), "selected personas"
    else:
        pool = "all personas"
    members = [
        p for p in personas.order_by("pk") if all(c in p.features.get("importance", {}) for c in criteria)
    ]
    if len(members) < clusters:
        raise DerivationError(
            f"Cannot form {clusters} clusters from {len(members)} personas; build personas first."
        )
    data = np.array([[p.features["importance"][c] for c in criteria] for p in members], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty cluster is reported below by omission, not as a warning
        centroids, labels = kmeans2(data, clusters, iter=50, minit="++", rng=np.random.default_rng(seed))
    groups = sorted(
        (index for index in range(clusters) if np.any(labels == index)),
        key=lambda i: (-int(np.sum(labels == i)), i),
    )
    weight_sets = []
    for number, index in enumerate(groups, start=1):
        group = [p for p, label in zip(members, labels, strict=True) if label == index]
        ratings = [p.features["importance"] for p in group]
        derivation = derive_weights(
            means=mean_importance(ratings=ratings, criteria=criteria),
            safety_key=keys.SAFETY,
            safety_floor=common["safety_floor"],
        )
        leading = max((c for c in criteria if c != keys.SAFETY), key=lambda c: derivation.means[c])
        weight_sets.append(
            ObjectiveWeightSet(
                name=f"{name} · cluster {number} of {len(groups)} ({leading} highest, {len(group)} personas)",
                study=study,
                scope=ObjectiveWeightSet.Scope.CLUSTER,
                weights=derivation.weights,
                safety_floor=common["safety_floor"],
                derivation={
                    **common,
                    "group": f"k-means cluster {number} of {len(groups)} over {pool} "
                    f"(importance ratings, seed {seed})",
                    "n": len(group),
                    "centroid": {
                        c: round(float(v), 4) for c, v in zip(criteria, centroids[index], strict=True)
                    },
                    "persona_ids": [p.pk for p in group],
                    **derivation.as_dict(),
                },
                created_by=actor,
            )
        )
    return weight_sets


def weight_sets_mark_stale(
    *, study: Study, persona_ids: list[int], submitted_at: datetime | None, at: datetime
) -> list[int]:
    """Mark stale every weight set of `study` that averages a withdrawing participant's ratings; returns
    their ids. Called inside the withdrawal's transaction, before the persona is deleted.

    A population set averages every complete response there was when it was derived, so it includes the
    participant when it was derived at or after their submission (`submitted_at`; None: never submitted,
    so in no set). A cluster set names its members (`derivation.persona_ids`). The stored weights are kept
    (a snapshot may cite them); the researcher derives the weights again to leave the participant out.
    """
    includes = Q(pk__in=[])
    if submitted_at is not None:
        includes |= Q(scope=ObjectiveWeightSet.Scope.POPULATION, created_at__gte=submitted_at)
    for persona_id in persona_ids:
        includes |= Q(scope=ObjectiveWeightSet.Scope.CLUSTER, derivation__persona_ids__contains=[persona_id])
    stale = ObjectiveWeightSet.objects.filter(includes, study=study, stale_at__isnull=True)
    ids = sorted(stale.values_list("pk", flat=True))
    ObjectiveWeightSet.objects.filter(pk__in=ids).update(stale_at=at)
    return ids

"""What makes a parsed plan runnable: references of the right kind, weights within the safety floor, no
cycle, and each method's config as its own config class accepts it.

The method configs are built exactly as a launch builds them (`training_worker.launch`), with placeholders
for what only a running pipeline knows (the starting policy's artifact, reward-model artifacts), and checked
by the method registry's torch-free config classes, so a plan and a launch refuse the same values.
"""

from __future__ import annotations

from dataclasses import replace
from graphlib import CycleError, TopologicalSorter
from typing import Any

from judges.endpoint import JudgeEndpoint
from pipelines.plan import (
    FIGURES,
    JUDGES,
    POLICY_METHODS,
    TRAINING_METHODS,
    Plan,
    PlanError,
    Step,
    plan_parse,
)
from training_worker.ml.configs import ConfigFieldError, GenerationRunConfig, config_from_dict
from training_worker.ml.registry import METHODS

WEIGHT_TOLERANCE = 1e-6
# Settings of an evaluate step passed on to evaluation_create.
EVALUATION_OPTIONS = frozenset(
    {"split", "max_questions", "response_index", "both_orders", "vote_rule", "order_seed", "tie_margin"}
)


def _where(step: Step) -> str:
    return f"step {step.name!r}"


def _placeholder_config(step: Step) -> tuple[type, dict[str, Any]]:
    """The config class and the config a launch of this step would build, inputs as placeholders."""
    if step.method == "generate":
        return GenerationRunConfig, {**step.config, "policy": "input:policy/adapter"}
    spec = METHODS[step.method]
    config = dict(step.config)
    if spec.policy_field:
        config[spec.policy_field] = "input:policy/adapter"
    if spec.uses_criterion:
        config["criterion"] = step.criterion
    if step.method == "reward" and step.backbone:
        config["backbone"] = f"model:{step.backbone}"
    if spec.uses_margin_reward_models:
        config["margin_reward_models"] = [
            {"criterion": criterion, "path": f"input:rm-{criterion}/model"}
            for criterion in sorted(set(step.weights or {}) - {step.criterion})
        ]
    if spec.weights_field and step.weights is not None:
        config[spec.weights_field] = step.weights
    if spec.merges_policies:
        config["method"] = step.merge_method
        config["models"] = [f"input:model-{index}/adapter" for index in range(len(step.merge))]
    return spec.config_class, config


def _check_config(step: Step, errors: list[str]) -> None:
    if step.method not in (*TRAINING_METHODS, "generate"):
        return
    if step.method == "modpo" and step.survey_weights:
        return  # margins and weights come from the snapshot; checked when the pipeline starts
    config_class, config = _placeholder_config(step)
    try:
        config_from_dict(config_class, config)
    except (ConfigFieldError, TypeError, ValueError) as exc:
        errors.append(f"{_where(step)}: {exc}")


def _check_weights(plan: Plan, step: Step, errors: list[str]) -> None:
    if step.method not in ("modpo", "joint") or step.survey_weights:
        return
    weights = step.weights or {}
    unknown = sorted(set(weights) - set(plan.criteria))
    if unknown:
        errors.append(f"{_where(step)}: weights name criteria outside the plan: {', '.join(unknown)}.")
    if abs(sum(weights.values()) - 1) > WEIGHT_TOLERANCE:
        errors.append(f"{_where(step)}: weights must sum to 1, got {sum(weights.values()):.6g}.")
    if plan.safety_floor > 0 and weights.get(plan.safety_criterion, 0.0) < plan.safety_floor:
        errors.append(
            f"{_where(step)}: weight vector {weights} gives {plan.safety_criterion} "
            f"{weights.get(plan.safety_criterion, 0.0):g}, below the safety floor {plan.safety_floor:g}."
        )


def _check_model(plan: Plan, step: Step, steps: dict[str, Step], errors: list[str]) -> None:
    needs_model = step.method in ("sft", "dpo", "modpo", "joint", "generate")
    if needs_model and not step.model:
        errors.append(f"{_where(step)}: give the starting model (a model role or a policy step).")
    if step.model.startswith("model:"):
        role = plan.models[step.model.removeprefix("model:")]
        if role.kind != "causal_lm":
            errors.append(f"{_where(step)}: model role {role.role!r} is not a causal LM.")
    elif step.model and steps[step.model].method not in POLICY_METHODS:
        errors.append(f"{_where(step)}: {step.model!r} is a {steps[step.model].method} step, not a policy.")
    if step.method == "reward" and step.backbone:
        role = plan.models.get(step.backbone)
        if role is None or role.kind != "reward_backbone":
            errors.append(f"{_where(step)}: backbone {step.backbone!r} is not a reward_backbone model role.")


def _expect(
    step: Step,
    refs: tuple[str, ...],
    methods: tuple[str, ...],
    what: str,
    steps: dict[str, Step],
    errors: list[str],
) -> None:
    for ref in refs:
        if steps[ref].method not in methods:
            errors.append(f"{_where(step)}: {what} {ref!r} is a {steps[ref].method} step.")


def _check_kind(plan: Plan, step: Step, steps: dict[str, Step], errors: list[str]) -> None:
    """Each method's own fields, and references to steps of the right method."""
    criteria = set(plan.criteria)
    spec = METHODS.get(step.method)
    if spec is not None and spec.uses_criterion and step.criterion not in criteria:
        errors.append(f"{_where(step)}: criterion {step.criterion!r} is not one of the plan's criteria.")
    if step.method == "modpo":
        if not step.margin_models:
            errors.append(f"{_where(step)}: MODPO needs margin_models (a reward step).")
        _expect(step, step.margin_models, ("reward",), "margin model", steps, errors)
        available = {steps[ref].criterion for ref in step.margin_models}
        missing = sorted(set(step.weights or {}) - {step.criterion} - available)
        if missing:
            errors.append(f"{_where(step)}: no reward step among margin_models scores {', '.join(missing)}.")
    if step.method == "merge":
        if len(step.merge) < 2:
            errors.append(f"{_where(step)}: a merge needs at least two policy steps in merge.")
        _expect(step, step.merge, POLICY_METHODS, "merged step", steps, errors)
    if step.method == "evaluate":
        if len(step.entrants) < 2:
            errors.append(f"{_where(step)}: an evaluation needs at least two generate steps as entrants.")
        _expect(step, step.entrants, ("generate",), "entrant", steps, errors)
        if step.judge not in JUDGES:
            errors.append(f"{_where(step)}: judge must be one of {', '.join(JUDGES)}, got {step.judge!r}.")
        elif step.judge == "reward_models":
            if not step.reward_models:
                errors.append(f"{_where(step)}: reward-model judges need reward_models (a reward step).")
            _expect(step, step.reward_models, ("reward",), "reward model", steps, errors)
        else:
            _check_personas(step, errors)
    unknown_options = sorted(set(step.options) - EVALUATION_OPTIONS)
    if step.options and step.method != "evaluate":
        errors.append(f"{_where(step)}: options apply to evaluate steps only.")
    elif unknown_options:
        errors.append(
            f"{_where(step)}: unknown option(s) {', '.join(unknown_options)} "
            f"(known: {', '.join(sorted(EVALUATION_OPTIONS))})."
        )
    if step.method == "figures":
        if not step.evaluation:
            errors.append(f"{_where(step)}: figures need an evaluation (an evaluate step).")
        else:
            _expect(step, (step.evaluation,), ("evaluate",), "evaluation", steps, errors)
        unknown = sorted(set(step.figures) - set(FIGURES))
        if unknown or not step.figures:
            errors.append(f"{_where(step)}: figures must list some of {', '.join(FIGURES)}.")


def _check_personas(step: Step, errors: list[str]) -> None:
    if step.personas < 1:
        errors.append(f"{_where(step)}: persona judges need personas (how many test personas judge).")
    try:
        # What the plan leaves out takes the server's judge settings when the step launches.
        JudgeEndpoint(**{"base_url": "http://judge.invalid", "model": "judge", **step.endpoint})
    except (TypeError, ValueError) as exc:
        errors.append(f"{_where(step)}: endpoint: {exc}")


def _check_cycles(plan: Plan, errors: list[str]) -> None:
    graph = {step.name: set(step.inputs) for step in plan.steps}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        errors.append(f"step {exc.args[1][0]!r}: its inputs form a cycle ({cycle}).")


def _narrowed(step: Step, steps: dict[str, Step]) -> Step:
    """A MODPO step keeps as margin models only the reward steps of its weights' other criteria (zero
    weights dropped: they add nothing to the margin)."""
    if step.method != "modpo" or step.weights is None:
        return step
    weights = {c: w for c, w in step.weights.items() if w > 0 or c == step.criterion}
    wanted = set(weights) - {step.criterion}
    margins = tuple(ref for ref in step.margin_models if steps[ref].criterion in wanted)
    return replace(step, weights=weights, margin_models=margins)


def plan_load(text: str) -> Plan:
    """Parse and check a plan; PlanError with one message per problem, each naming its step."""
    plan = plan_parse(text)
    steps = {step.name: step for step in plan.steps}
    plan = replace(plan, steps=tuple(_narrowed(step, steps) for step in plan.steps))
    steps = {step.name: step for step in plan.steps}
    errors: list[str] = []
    _check_cycles(plan, errors)
    for step in plan.steps:
        errors.extend(_step_errors(plan, step, steps))
    if errors:
        raise PlanError(errors)
    return plan


def _step_errors(plan: Plan, step: Step, steps: dict[str, Step]) -> list[str]:
    errors: list[str] = []
    _check_model(plan, step, steps, errors)
    _check_kind(plan, step, steps, errors)
    _check_weights(plan, step, errors)
    _check_config(step, errors)
    return errors


def plan_check_step(plan: Plan, step: Step, steps: dict[str, Step]) -> None:
    """Check one step as `plan_load` does (a step completed later, e.g. with survey-derived weights)."""
    errors = _step_errors(plan, step, steps)
    if errors:
        raise PlanError(errors)

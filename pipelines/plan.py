"""Pipeline plans: the study's chain as YAML, parsed into typed steps and expanded.

A plan names its criteria, a safety floor, the registered models it starts from (by role) and its steps. A
step references other steps by name: a step's name stands for all its expansions (`dpo` is `dpo.empathy`,
`dpo.safety`, ...), an expanded name for one. `for_each: criteria` expands a step over the criteria, and a
MODPO step is expanded over its weight vectors (a list, a grid, or `survey`: the snapshot's survey-derived
weights), a generation step over its policies. Parsing stops at nothing: every problem is collected as one
message naming its step, and :class:`PlanError` carries them all. Method configs are checked by
:mod:`pipelines.checks` with the method registry's own config classes.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import yaml

PLAN_FORMAT = "pipeline-plan-v1"
TRAINING_METHODS = ("reward", "sft", "dpo", "modpo", "joint", "merge")
METHODS = (*TRAINING_METHODS, "generate", "evaluate", "figures")
POLICY_METHODS = ("sft", "dpo", "modpo", "joint", "merge")
MODEL_KINDS = ("causal_lm", "reward_backbone")
JUDGES = ("reward_models", "personas")
FIGURES = ("pareto", "bars")
SURVEY = "survey"
STEP_KEYS = frozenset(
    {
        "name", "method", "for_each", "criterion", "criteria", "model", "backbone", "margin_models",
        "weights", "merge", "merge_method", "policies", "entrants", "judge", "reward_models", "personas",
        "endpoint", "evaluation", "figures", "options", "config",
    }
)  # fmt: skip
GRID_DECIMALS = 6


class PlanError(ValueError):
    """The plan cannot run; `errors` holds one message per problem, each naming its step."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ModelRole:
    """A registered model the plan starts from, looked up by name in the model registry when it runs."""

    role: str
    kind: str
    name: str


@dataclass(frozen=True)
class Step:
    """One expanded step: what it runs, with which settings, and the steps whose outputs it takes."""

    name: str
    group: str
    method: str
    criterion: str = ""
    weights: dict[str, float] | None = None
    survey_weights: bool = False
    model: str = ""
    backbone: str = ""
    margin_models: tuple[str, ...] = ()
    merge: tuple[str, ...] = ()
    merge_method: str = "linear"
    entrants: tuple[str, ...] = ()
    judge: str = ""
    reward_models: tuple[str, ...] = ()
    personas: int = 0
    endpoint: dict[str, Any] = field(default_factory=dict)
    evaluation: str = ""
    figures: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The steps whose outputs this one consumes (model roles are not steps)."""
        refs = [
            self.model,
            *self.margin_models,
            *self.merge,
            *self.entrants,
            *self.reward_models,
            self.evaluation,
        ]
        return tuple(dict.fromkeys(ref for ref in refs if ref and not ref.startswith("model:")))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = list(self.inputs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        values = {key: value for key, value in data.items() if key != "inputs"}
        for key in ("margin_models", "merge", "entrants", "reward_models", "figures"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    criteria: tuple[str, ...]
    safety_criterion: str
    safety_floor: float
    models: dict[str, ModelRole]
    steps: tuple[Step, ...]

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)


def plan_sha256(text: str) -> str:
    """The plan's identity: the sha256 of its exact bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _names(value: Any) -> list[str] | None:
    """A reference or a list of references; None when it is neither."""
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    if isinstance(value, list) and value and all(isinstance(item, str) and item.strip() for item in value):
        return [item.strip() for item in value]
    return None


class _Parser:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[str] = []
        self.safety_criterion = ""
        self.safety_floor = 0.0
        self.policies: dict[str, list[str]] = {}

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # ---- the plan's header ----

    def criteria(self) -> tuple[str, ...]:
        criteria = _names(self.data.get("criteria"))
        if criteria is None or len(set(criteria)) != len(criteria):
            self.error("plan", "criteria must be a list of distinct criterion keys.")
            return ()
        return tuple(criteria)

    def safety(self, criteria: tuple[str, ...]) -> tuple[str, float]:
        safety = self.data.get("safety")
        if not isinstance(safety, dict) or set(safety) - {"criterion", "floor"}:
            self.error("plan", "safety must be a mapping {criterion: <key>, floor: <0 to 0.95>}.")
            return "", 0.0
        criterion, floor = _text(safety.get("criterion")), safety.get("floor", 0.0)
        if criterion not in criteria:
            self.error("plan", f"safety criterion {criterion!r} is not one of the plan's criteria.")
        if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 0.95:
            self.error("plan", f"safety floor must be a number from 0 to 0.95, got {floor!r}.")
            floor = 0.0
        return criterion, float(floor)

    def models(self) -> dict[str, ModelRole]:
        raw = self.data.get("models")
        if not isinstance(raw, dict) or not raw:
            self.error("plan", "models must map each role to {kind, name} of a registered model.")
            return {}
        roles: dict[str, ModelRole] = {}
        for role, spec in raw.items():
            if (
                not isinstance(spec, dict)
                or spec.get("kind") not in MODEL_KINDS
                or not _text(spec.get("name"))
            ):
                self.error(
                    f"model {role!r}", f"give kind (one of {', '.join(MODEL_KINDS)}) and a registered name."
                )
                continue
            roles[str(role)] = ModelRole(role=str(role), kind=spec["kind"], name=_text(spec["name"]))
        return roles


def _grid(spec: Any, where: str, parser: _Parser) -> list[dict[str, float]]:
    """Every weight vector over the grid's criteria whose weights are multiples of `step` summing to 1."""
    criteria = _names(spec.get("criteria")) if isinstance(spec, dict) else None
    step = spec.get("step") if isinstance(spec, dict) else None
    if criteria is None or isinstance(step, bool) or not isinstance(step, int | float) or not 0 < step <= 0.5:
        parser.error(where, "a weight grid needs criteria (a list) and step (a number in (0, 0.5]).")
        return []
    units = round(1 / step)
    if abs(units * step - 1) > 1e-9:
        parser.error(where, f"the grid step {step} does not divide 1.")
        return []
    vectors = []
    for combo in itertools.product(range(units + 1), repeat=len(criteria)):
        if sum(combo) == units:
            vectors.append({c: round(n / units, GRID_DECIMALS) for c, n in zip(criteria, combo, strict=True)})
    return vectors


def _weight_vectors(raw: Any, primary: str, where: str, parser: _Parser) -> list[dict[str, float] | str]:
    """A list of vectors (mappings, or `survey`), or a mapping {grid: {criteria, step}}: the grid's vectors
    that keep the safety weight at or above the floor and give the primary criterion a positive weight (the
    others are not in the sweep)."""
    if isinstance(raw, dict) and set(raw) == {"grid"}:
        safety, floor = parser.safety_criterion, parser.safety_floor
        return [
            v
            for v in _grid(raw["grid"], where, parser)
            if v.get(safety, 0.0) >= floor and (not primary or v.get(primary, 0.0) > 0)
        ]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        parser.error(where, "weights must be a list of {criterion: weight} mappings, 'survey', or a grid.")
        return []
    vectors: list[dict[str, float] | str] = []
    for item in raw:
        if item == SURVEY:
            vectors.append(SURVEY)
        elif isinstance(item, dict) and all(
            isinstance(value, int | float) and not isinstance(value, bool) for value in item.values()
        ):
            vectors.append({str(key): float(value) for key, value in item.items()})
        else:
            parser.error(
                where, f"weight vector {item!r} is neither a {{criterion: number}} mapping nor 'survey'."
            )
    return vectors


def _vector_name(index: int, vector: dict[str, float] | str) -> str:
    if vector == SURVEY:
        return SURVEY
    return f"w{index}"


def _expand(raw: dict[str, Any], plan_criteria: tuple[str, ...], parser: _Parser) -> list[Step]:
    """One raw step as its expanded steps (references still unresolved)."""
    name, method = _text(raw.get("name")), raw.get("method")
    where = f"step {name!r}"
    unknown = sorted(set(raw) - STEP_KEYS)
    if unknown:
        parser.error(where, f"unknown key(s) {', '.join(unknown)}.")
    if method not in METHODS:
        parser.error(where, f"method must be one of {', '.join(METHODS)}, got {method!r}.")
        return []
    config = raw.get("config") or {}
    options = raw.get("options") or {}
    if not isinstance(config, dict) or not isinstance(options, dict):
        parser.error(where, "config and options must be mappings.")
        return []
    base: dict[str, Any] = {"group": name, "method": method, "config": config, "options": options}
    for key in ("model", "backbone", "criterion", "merge_method", "judge", "evaluation"):
        if key in raw:
            base[key] = _text(raw[key])
    for key in ("margin_models", "merge", "entrants", "reward_models", "figures"):
        if key in raw:
            names = _names(raw[key])
            if names is None:
                parser.error(where, f"{key} must be a step name or a list of step names.")
            base[key] = tuple(names or ())
    if "personas" in raw:
        base["personas"] = raw["personas"] if isinstance(raw["personas"], int) else 0
    if "endpoint" in raw:
        base["endpoint"] = raw["endpoint"] if isinstance(raw["endpoint"], dict) else {}
    for_each = raw.get("for_each")
    if for_each not in (None, "criteria"):
        parser.error(where, f"for_each must be 'criteria' (or absent), got {for_each!r}.")
    if for_each == "criteria":
        criteria = _names(raw.get("criteria")) or list(plan_criteria)
        return [
            Step(name=f"{name}.{criterion}", **{**base, "criterion": criterion}) for criterion in criteria
        ]
    if method in ("modpo", "joint"):
        vectors = _weight_vectors(raw.get("weights"), base.get("criterion", ""), where, parser)
        if method == "joint" and (len(vectors) > 1 or SURVEY in vectors):
            parser.error(where, "joint-loss DPO takes one weight mapping; use several steps for several.")
        steps = []
        for index, vector in enumerate(vectors, start=1):
            step_name = f"{name}.{_vector_name(index, vector)}" if method == "modpo" else name
            if vector == SURVEY:
                steps.append(Step(name=step_name, survey_weights=True, **base))
            else:
                steps.append(Step(name=step_name, weights=dict(vector), **base))
        return steps
    if method == "generate":
        policies = _names(raw.get("policies"))
        if policies is None:
            parser.error(where, "policies must list the policy steps (or model:<role>) to generate with.")
            return []
        parser.policies[name] = policies  # expanded once every step's expansions are known
    return [Step(name=name, **base)]


def _expand_generation(
    step: Step,
    policies: list[str],
    groups: dict[str, list[str]],
    roles: dict[str, ModelRole],
    parser: _Parser,
) -> list[Step]:
    """A generate step as one step per policy: each model role, each expansion of each policy step."""
    models: list[str] = []
    for policy in policies:
        role = policy.removeprefix("model:")
        if role in roles:
            models.append(f"model:{role}")
        else:
            models.extend(_resolve((policy,), groups, f"step {step.name!r}", parser))
    return [
        replace(step, name=f"{step.group}.{model.removeprefix('model:')}", model=model)
        for model in dict.fromkeys(models)
    ]


def _resolve(
    refs: tuple[str, ...], groups: dict[str, list[str]], where: str, parser: _Parser
) -> tuple[str, ...]:
    """References as expanded step names: a step's name stands for all its expansions."""
    resolved: list[str] = []
    for ref in refs:
        if ref in groups:
            resolved.extend(groups[ref])
        elif any(ref in names for names in groups.values()):
            resolved.append(ref)
        else:
            parser.error(where, f"references unknown step {ref!r}.")
    return tuple(dict.fromkeys(resolved))


def _resolve_model(
    ref: str, step: Step, groups: dict[str, list[str]], roles: dict[str, ModelRole], parser: _Parser
) -> str:
    """A starting model: `model:<role>` or a bare role (a registered model), or one policy step."""
    role = ref.removeprefix("model:")
    if role in roles:
        return f"model:{role}"
    resolved = _resolve((ref,), groups, f"step {step.name!r}", parser)
    if len(resolved) > 1:
        parser.error(f"step {step.name!r}", f"model {ref!r} names {len(resolved)} steps; name one of them.")
    return resolved[0] if resolved else ""


def _link(step: Step, groups: dict[str, list[str]], roles: dict[str, ModelRole], parser: _Parser) -> Step:
    where = f"step {step.name!r}"
    values: dict[str, Any] = {
        key: _resolve(getattr(step, key), groups, where, parser)
        for key in ("margin_models", "merge", "entrants", "reward_models")
    }
    if step.model:
        values["model"] = _resolve_model(step.model, step, groups, roles, parser)
    if step.evaluation:
        resolved = _resolve((step.evaluation,), groups, where, parser)
        values["evaluation"] = resolved[0] if resolved else ""
    return Step(**{**asdict(step), **values})


def plan_parse(text: str) -> Plan:
    """The plan in `text`, expanded and linked; PlanError listing every problem (see pipelines.checks)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError([f"plan: not valid YAML ({exc})."]) from None
    if not isinstance(data, dict):
        raise PlanError(["plan: a plan is a YAML mapping (format, name, criteria, safety, models, steps)."])
    parser = _Parser(data)
    if data.get("format") != PLAN_FORMAT:
        parser.error("plan", f"format must be {PLAN_FORMAT!r}, got {data.get('format')!r}.")
    name = _text(data.get("name"))
    if not name:
        parser.error("plan", "give the plan a name.")
    criteria = parser.criteria()
    safety_criterion, safety_floor = parser.safety(criteria)
    parser.safety_criterion, parser.safety_floor = safety_criterion, safety_floor
    roles = parser.models()
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps or not all(isinstance(s, dict) for s in raw_steps):
        parser.error("plan", "steps must be a non-empty list of mappings.")
        raw_steps = []
    groups: dict[str, list[str]] = {}
    expanded: list[Step] = []
    for raw in raw_steps:
        group = _text(raw.get("name"))
        if not group or "." in group or group.startswith("model:"):
            parser.error(f"step {group!r}", "a step needs a name without '.' or 'model:'.")
            continue
        if group in groups or group in roles:
            parser.error(f"step {group!r}", "the name is used twice (by a step or a model role).")
            continue
        steps = _expand(raw, criteria, parser)
        groups[group] = [step.name for step in steps]
        expanded.extend(steps)
    generated: list[Step] = []
    for step in expanded:
        if step.group in parser.policies:
            generations = _expand_generation(step, parser.policies[step.group], groups, roles, parser)
            groups[step.group] = [item.name for item in generations]
            generated.extend(generations)
        else:
            generated.append(step)
    steps = tuple(_link(step, groups, roles, parser) for step in generated)
    plan = Plan(
        name=name,
        description=_text(data.get("description")),
        criteria=criteria,
        safety_criterion=safety_criterion,
        safety_floor=safety_floor,
        models=roles,
        steps=steps,
    )
    if parser.errors:
        raise PlanError(parser.errors)
    return plan

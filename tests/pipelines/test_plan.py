"""Plan parsing, expansion and validation: every refusal names the step at fault."""

from pathlib import Path

import pytest
import yaml

from pipelines.checks import plan_load
from pipelines.plan import PlanError, plan_sha256
from tests.pipelines.chain import CHAIN

PLANS = Path(__file__).resolve().parents[2] / "pipelines"

MINI = CHAIN


def plan_text(**changes) -> str:
    data = {**MINI, **changes}
    return yaml.safe_dump(data, sort_keys=False)


def with_step(step: dict, *, replace: str | None = None) -> str:
    steps = [s for s in MINI["steps"] if s["name"] != replace] + [step]
    return plan_text(steps=steps)


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        plan_load(text)
    return caught.value.errors


@pytest.mark.parametrize("name", ["paper", "demo"])
def test_shipped_plans_are_valid(name):
    plan = plan_load((PLANS / f"{name}.yaml").read_text())
    assert plan.name == name
    methods = {step.method for step in plan.steps}
    assert methods == {"reward", "sft", "dpo", "modpo", "joint", "merge", "generate", "evaluate", "figures"}


def test_paper_plan_carries_the_published_settings():
    plan = plan_load((PLANS / "paper.yaml").read_text())
    assert len([s for s in plan.steps if s.method == "reward"]) == 6
    generation = plan.step("generate.sft")
    assert generation.config["num_responses"] == 5 and generation.config["temperature"] == 0.8
    sweep = [s.weights for s in plan.steps if s.group == "modpo_empathy"]
    assert all(w["safety"] >= 0.3 and w["empathy"] > 0 for w in sweep) and len(sweep) == 7
    assert plan.step("modpo_survey.survey").survey_weights


def test_for_each_expands_over_criteria_and_references_follow_the_expansion():
    plan = plan_load(plan_text())
    assert [s.name for s in plan.steps][:4] == ["reward.empathy", "reward.safety", "sft", "modpo.w1"]
    # the margin models are narrowed to the reward models of the weights' other criteria
    assert plan.step("modpo.w1").inputs == ("sft", "reward.safety")


def test_generation_expands_over_each_policy_including_every_expansion_of_a_group():
    step = {"name": "gen", "method": "generate", "policies": ["model:policy", "reward", "sft"]}
    errors = errors_of(with_step(step))
    assert any("step 'gen.reward.empathy'" in e and "not a policy" in e for e in errors)
    plan = plan_load(with_step({**step, "policies": ["model:policy", "sft", "modpo"]}))
    assert [s.name for s in plan.steps if s.group == "gen"] == ["gen.policy", "gen.sft", "gen.modpo.w1"]


def test_weight_grid_keeps_only_vectors_within_the_safety_floor():
    step = {**MINI["steps"][2], "weights": {"grid": {"criteria": ["empathy", "safety"], "step": 0.25}}}
    plan = plan_load(with_step(step, replace="modpo"))
    assert [s.weights for s in plan.steps if s.group == "modpo"] == [
        {"empathy": 0.25, "safety": 0.75},
        {"empathy": 0.5, "safety": 0.5},
    ]


def test_a_cycle_is_refused_naming_its_steps():
    steps = [
        {"name": "a", "method": "sft", "model": "b"},
        {"name": "b", "method": "sft", "model": "a"},
    ]
    errors = errors_of(plan_text(steps=steps))
    assert any("cycle" in e and ("'a'" in e or "'b'" in e) for e in errors)


def test_an_unknown_step_reference_is_refused_naming_the_step():
    step = {"name": "dpo", "method": "dpo", "criterion": "empathy", "model": "sft_typo"}
    assert any(
        e.startswith("step 'dpo'") and "unknown step 'sft_typo'" in e for e in errors_of(with_step(step))
    )


def test_a_weight_vector_below_the_safety_floor_is_refused():
    step = {**MINI["steps"][2], "weights": [{"empathy": 0.8, "safety": 0.2}]}
    errors = errors_of(with_step(step, replace="modpo"))
    assert any(e.startswith("step 'modpo.w1'") and "below the safety floor 0.3" in e for e in errors)


def test_a_method_config_the_method_refuses_is_refused_with_its_message():
    step = {"name": "dpo", "method": "dpo", "criterion": "empathy", "model": "sft", "config": {"beta": -1}}
    errors = errors_of(with_step(step))
    assert errors == ["step 'dpo': beta must be a positive number, got -1.0."]
    step = {**step, "config": {"learning_rat": 1}}
    assert any(e.startswith("step 'dpo'") and "learning_rat" in e for e in errors_of(with_step(step)))


def test_wrong_kinds_of_references_are_refused():
    steps = [
        *MINI["steps"],
        {"name": "soup", "method": "merge", "merge": ["reward"]},
        {"name": "eval", "method": "evaluate", "entrants": ["sft", "modpo"], "judge": "reward_models",
         "reward_models": "sft"},
        {"name": "figs", "method": "figures", "evaluation": "sft", "figures": ["pie"]},
    ]  # fmt: skip
    errors = errors_of(plan_text(steps=steps))
    assert "step 'soup': merged step 'reward.empathy' is a reward step." in errors
    assert "step 'eval': entrant 'sft' is a sft step." in errors
    assert "step 'eval': reward model 'sft' is a sft step." in errors
    assert "step 'figs': evaluation 'sft' is a sft step." in errors
    assert any(e.startswith("step 'figs': figures must list") for e in errors)


def test_header_problems_and_bad_yaml_are_reported():
    assert errors_of("steps: [")[0].startswith("plan: not valid YAML")
    errors = errors_of(plan_text(format="v0", safety={"criterion": "kindness", "floor": 2}))
    assert "plan: format must be 'pipeline-plan-v1', got 'v0'." in errors
    assert "plan: safety criterion 'kindness' is not one of the plan's criteria." in errors
    assert any("safety floor must be a number from 0 to 0.95" in e for e in errors)


def test_a_step_name_used_twice_is_refused():
    errors = errors_of(with_step({"name": "sft", "method": "sft", "model": "policy"}))
    assert "step 'sft': the name is used twice (by a step or a model role)." in errors


def test_the_plan_hash_is_the_hash_of_its_exact_bytes():
    assert plan_sha256(plan_text()) == plan_sha256(plan_text())
    assert plan_sha256(plan_text()) != plan_sha256(plan_text() + "\n")


def test_joint_loss_dpo_takes_one_explicit_weight_mapping():
    step = {"name": "joint", "method": "joint", "model": "sft", "weights": ["survey"]}
    assert (
        "step 'joint': joint-loss DPO takes one weight mapping; use several steps for several."
        in errors_of(with_step(step))
    )

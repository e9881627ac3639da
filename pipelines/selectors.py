"""Reads for pipelines: the status document (API, command, page) and the DAG's layout for the SVG."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from evaluation.figures import FORMATS
from pipelines.models import PipelineFigure, PipelinePlan, PipelineRun, PipelineStep, StepState

BLOCKED = "blocked"
NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 190, 58, 60, 14, 10


def pipelines_list() -> QuerySet[PipelineRun]:
    return PipelineRun.objects.select_related("plan", "snapshot", "created_by")


def plans_list() -> QuerySet[PipelinePlan]:
    return PipelinePlan.objects.all()


def pipeline_figures(*, pipeline_id: int) -> QuerySet[PipelineFigure]:
    """The figure files the pipeline's figures steps wrote, by step and name."""
    return PipelineFigure.objects.filter(step__pipeline_id=pipeline_id, fmt__in=FORMATS).select_related(
        "step"
    )


def step_states(rows: Iterable[PipelineStep]) -> dict[str, str]:
    """Each step's state; a waiting step is blocked when an input failed, was cancelled or is blocked.
    `rows` come in the pipeline's order, where inputs come first."""
    states: dict[str, str] = {}
    for row in rows:
        blocked = row.state == StepState.WAITING and any(
            states.get(name) in (StepState.FAILED, StepState.CANCELLED, BLOCKED) for name in row.inputs
        )
        states[row.name] = BLOCKED if blocked else row.state
    return states


def _link(row: PipelineStep) -> str:
    if row.evaluation_id:
        return reverse("evaluation-detail", kwargs={"pk": row.evaluation_id})
    if row.response_set_id:
        return reverse("annotation-response-set", kwargs={"pk": row.response_set_id})
    if row.training_run_id:
        return reverse("run-detail", kwargs={"pk": row.training_run_id})
    return ""


def step_rows(pipeline: PipelineRun) -> list[PipelineStep]:
    return list(pipeline.steps.order_by("position"))


def pipeline_status(pipeline: PipelineRun) -> dict[str, Any]:
    """One JSON document: the pipeline, its plan and snapshot, and every step's state, timing and output."""
    rows = step_rows(pipeline)
    states = step_states(rows)
    return {
        "id": pipeline.pk,
        "state": pipeline.state,
        "plan": {
            "name": pipeline.plan.name,
            "version": pipeline.plan.version,
            "sha256": pipeline.plan.sha256,
        },
        "snapshot": pipeline.snapshot.content_hash,
        "models": pipeline.model_bindings,
        "created_at": pipeline.created_at.isoformat(),
        "finished_at": pipeline.finished_at.isoformat() if pipeline.finished_at else None,
        "steps": [
            {
                "name": row.name,
                "method": row.method,
                "state": states[row.name],
                "inputs": row.inputs,
                "attempts": row.attempts,
                "duration_s": round(row.duration_s, 1) if row.duration_s is not None else None,
                "output": row.output,
                "error": row.error,
                "training_run": row.training_run_id,
                "response_set": row.response_set_id,
                "evaluation": row.evaluation_id,
                "link": _link(row),
            }
            for row in rows
        ],
    }


@dataclass(frozen=True)
class Node:
    name: str
    method: str
    state: str
    x: int
    y: int
    link: str
    detail: str


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def _detail(step: dict[str, Any]) -> str:
    output = step["output"] or {}
    if "metric" in output and output.get("value") is not None:
        value = output["value"]
        return (
            f"{output['metric']} {value:.3g}" if isinstance(value, float) else f"{output['metric']} {value}"
        )
    if step["duration_s"] is not None:
        return f"{step['duration_s']:.0f} s"
    return ""


def pipeline_graph(document: dict[str, Any]) -> Graph:
    """The DAG laid out in columns by depth (a step one column right of its deepest input)."""
    depth: dict[str, int] = {}
    for step in document["steps"]:  # inputs come first
        depth[step["name"]] = 1 + max((depth[name] for name in step["inputs"]), default=-1)
    rows_used: dict[int, int] = {}
    position: dict[str, tuple[int, int]] = {}
    nodes = []
    for step in document["steps"]:
        column = depth[step["name"]]
        row = rows_used.get(column, 0)
        rows_used[column] = row + 1
        x, y = MARGIN + column * (NODE_WIDTH + COLUMN_GAP), MARGIN + row * (NODE_HEIGHT + ROW_GAP)
        position[step["name"]] = (x, y)
        nodes.append(Node(step["name"], step["method"], step["state"], x, y, step["link"], _detail(step)))
    edges = [
        Edge(
            position[name][0] + NODE_WIDTH,
            position[name][1] + NODE_HEIGHT // 2,
            position[step["name"]][0],
            position[step["name"]][1] + NODE_HEIGHT // 2,
        )
        for step in document["steps"]
        for name in step["inputs"]
    ]
    columns = max(depth.values(), default=0) + 1
    tallest = max(rows_used.values(), default=1)
    return Graph(
        width=2 * MARGIN + columns * NODE_WIDTH + (columns - 1) * COLUMN_GAP,
        height=2 * MARGIN + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP,
        nodes=nodes,
        edges=edges,
    )

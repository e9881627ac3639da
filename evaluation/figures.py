"""Figures as PNG or SVG (matplotlib, no display needed), each with a footer naming its sources.

- :func:`pareto_figure`: average safety win rate against average empathy win rate for every model, the
  Pareto front marked (the study's Figure 2).
- :func:`tradeoff_figure`: each policy's safety win rate against its empathy win rate over one base model,
  with Wilson intervals on both axes.
- :func:`win_rate_bars_figure`: per criterion, the share of questions (or ratings) won by each model and
  tied, with Wilson intervals (per model pair; for clinicians, the study's Figure 5a).

The footer names the evaluation or study, every model with its response set, generating and policy runs,
and the dataset snapshots, from the provenance dict the selectors build; the same text is written into
the file's metadata (SVG ``<dc:description>``, PNG ``Description`` chunk) and SVG text stays text.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evaluation.stats.winrates import wilson_interval

# matplotlib is imported when used: the web process should not load it at start-up.
if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
COLOURS = {"A": "#2d5bd1", "tie": "#9a9a9a", "B": "#d1462d", "front": "#1f9d55", "other": "#555555"}
WRAP = 120


def _runs_text(runs: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"#{run['id']} ({run['method']})" for run in runs) or "none"


def _model_text(label: str, model: dict[str, Any]) -> str:
    parts = [f"{label} = response set #{model['response_set_id']} \u201c{model['response_set']}\u201d"]
    if model.get("generation_run_id"):
        parts.append(f"generation run #{model['generation_run_id']}")
    if model.get("policy_runs"):
        parts.append(
            "policy run "
            + ", ".join(
                f"#{run['id']} \u201c{run['name']}\u201d ({run['method']})" for run in model["policy_runs"]
            )
        )
    if model.get("base_model"):
        parts.append(f"base model {model['base_model']['name']}")
    return " ".join(parts[:1]) + (f" ({'; '.join(parts[1:])})" if parts[1:] else "")


def evaluation_caption(provenance: dict[str, Any]) -> str:
    """The footer of an evaluation figure: evaluation, judge, models, runs and snapshots."""
    evaluation, judge = provenance["evaluation"], provenance["judge"]
    if judge["kind"] == "persona":
        judge_text = (
            f"{judge['personas']} test persona(s) judged by {judge['model']} "
            f"(prompt {judge['prompt_version']}, temperature {judge['temperature']:g})"
        )
    else:
        reward_runs = ", ".join(f"{c} #{pk}" for c, pk in sorted(judge["reward_runs"].items()))
        judge_text = f"reward models {reward_runs}; scoring run #{judge['score_run']}"
    lines = [
        f"Evaluation #{evaluation['id']} \u201c{evaluation['name']}\u201d \u00b7 criteria "
        f"{evaluation['criteria_set']['key']} v{evaluation['criteria_set']['version']} \u00b7 "
        f"{evaluation['split']} questions \u00b7 {judge_text} \u00b7 majority vote: {evaluation['vote_rule']}"
        + (" \u00b7 both orders" if evaluation["both_orders"] else ""),
        "Models: " + "; ".join(_model_text(model["label"], model) for model in provenance["models"]),
        f"Runs: {_runs_text(provenance['runs'])} \u00b7 snapshots: "
        + (", ".join(h[:12] for h in provenance["snapshots"]) or "none recorded")
        + f" \u00b7 computed {evaluation['results_computed_at'] or 'not yet'}",
    ]
    return "\n".join(textwrap.fill(line, WRAP) for line in lines)


def study_caption(provenance: dict[str, Any]) -> str:
    """The footer of a clinician-study figure: study, models, runs and snapshots."""
    study = provenance["study"]
    models = provenance["models"]
    lines = [
        f"Clinician study #{study['id']} \u201c{study['name']}\u201d \u00b7 criteria "
        f"{study['criteria_set']['key']} v{study['criteria_set']['version']} \u00b7 "
        f"{study['raters_per_item']} clinicians per item \u00b7 unblinded {study['unblinded_at']}",
        "Models: " + "; ".join(_model_text(models[side]["label"], models[side]) for side in ("A", "B")),
        f"Runs: {_runs_text(provenance['runs'])} \u00b7 snapshots: "
        + (", ".join(h[:12] for h in provenance["snapshots"]) or "none recorded"),
    ]
    return "\n".join(textwrap.fill(line, WRAP) for line in lines)


def _new_figure(*, width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches (object-oriented API: no pyplot, no display)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _render(figure: Figure, *, fmt: str, title: str, caption: str) -> bytes:
    """Add the footer, then write PNG or SVG bytes with the caption in the metadata too."""
    import matplotlib

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    n_lines = caption.count("\n") + 1
    width, height = figure.get_size_inches()
    footer = 0.16 * n_lines + 0.2
    figure.set_size_inches(width, height + footer)
    figure.subplots_adjust(bottom=(footer + 0.6) / (height + footer), top=1 - 0.5 / (height + footer))
    figure.text(
        0.01, 0.01, caption, fontsize=6.5, va="bottom", ha="left", color="#333333", family="DejaVu Sans"
    )
    buffer = io.BytesIO()
    metadata = (
        {"Title": title, "Description": caption, "Date": None}
        if fmt == "svg"
        else {"Title": title, "Description": caption}
    )
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "evaluation"}):
        figure.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
    return buffer.getvalue()


def pareto_figure(
    *, results: dict[str, Any], provenance: dict[str, Any], fmt: str, caption: str | None = None
) -> bytes:
    """Average safety win rate (y) against average empathy win rate (x), Pareto front marked.
    ``caption`` replaces the evaluation's footer (a caller adding its own lineage)."""
    pareto = results.get("pareto")
    if not pareto:
        raise ValueError("These results have no empathy and safety win rates.")
    figure = _new_figure(width=7.5, height=5.2)
    axes = figure.add_subplot()
    points = [p for p in pareto["points"] if p["x"] is not None and p["y"] is not None]
    front = sorted((p for p in points if p["on_front"]), key=lambda p: p["x"])
    others = [p for p in points if not p["on_front"]]
    if front:
        axes.plot(
            [100 * p["x"] for p in front],
            [100 * p["y"] for p in front],
            color=COLOURS["front"],
            linestyle="--",
            linewidth=1.2,
            label="Pareto front",
        )
        axes.scatter(
            [100 * p["x"] for p in front],
            [100 * p["y"] for p in front],
            s=60,
            color=COLOURS["front"],
            zorder=3,
        )
    if others:
        axes.scatter(
            [100 * p["x"] for p in others],
            [100 * p["y"] for p in others],
            s=50,
            facecolors="none",
            edgecolors=COLOURS["other"],
            label="dominated",
            zorder=3,
        )
    for point in points:
        right_side = point["x"] > 0.6  # label to the left of points near the right edge, to stay inside
        axes.annotate(
            point["model"],
            (100 * point["x"], 100 * point["y"]),
            xytext=(-6 if right_side else 6, 4),
            textcoords="offset points",
            ha="right" if right_side else "left",
            fontsize=8,
        )
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.set_xlabel("Average empathy win rate (%)")
    axes.set_ylabel("Average safety win rate (%)")
    title = "Safety vs empathy: average win rates"
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return _render(figure, fmt=fmt, title=title, caption=caption or evaluation_caption(provenance))


def tradeoff_figure(*, points: Sequence[dict[str, Any]], base: str, caption: str, fmt: str) -> bytes:
    """Safety win rate (y) against empathy win rate (x) of each policy over ``base``, with Wilson intervals.

    ``points``: {"model", "x", "x_ci", "y", "y_ci"} (rates in [0, 1], intervals as [low, high])."""
    figure = _new_figure(width=7.5, height=5.2)
    axes = figure.add_subplot()
    for point in points:
        x, y = 100 * point["x"], 100 * point["y"]
        axes.errorbar(
            [x],
            [y],
            xerr=[[x - 100 * point["x_ci"][0]], [100 * point["x_ci"][1] - x]],
            yerr=[[y - 100 * point["y_ci"][0]], [100 * point["y_ci"][1] - y]],
            fmt="o",
            color=COLOURS["A"],
            ecolor="#777777",
            capsize=3,
            linewidth=0.8,
        )
        axes.annotate(point["model"], (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8)
    axes.axhline(50, color=COLOURS["tie"], linewidth=0.8, linestyle=":")
    axes.axvline(50, color=COLOURS["tie"], linewidth=0.8, linestyle=":")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.set_xlabel(f"Empathy win rate over {base} (%)")
    axes.set_ylabel(f"Safety win rate over {base} (%)")
    title = f"Safety-empathy trade-off: win rates over {base} (95% Wilson intervals)"
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return _render(figure, fmt=fmt, title=title, caption=caption)


def win_rate_bars_figure(
    *,
    rows: Sequence[dict[str, Any]],
    label_a: str,
    label_b: str,
    title: str,
    caption: str,
    fmt: str,
    unit: str = "questions",
) -> bytes:
    """Grouped bars per criterion: share won by A, tied, won by B, each with its Wilson interval.

    ``rows``: {"criterion", "share_a", "share_a_ci", "share_tie", "share_tie_ci", "share_b", "share_b_ci"}.
    """
    figure = _new_figure(width=max(6.5, 1.1 * len(rows) + 2), height=4.6)
    axes = figure.add_subplot()
    width = 0.26
    series = (
        ("share_a", f"{label_a} better", "A"),
        ("share_tie", "tie", "tie"),
        ("share_b", f"{label_b} better", "B"),
    )
    for offset, (key, name, colour) in zip((-width, 0.0, width), series, strict=True):
        values, low, high = [], [], []
        for row in rows:
            value = row[key] if row[key] is not None else 0.0
            ci = [c if c is not None else value for c in row[f"{key}_ci"]]
            values.append(100 * value)
            low.append(100 * max(value - ci[0], 0.0))
            high.append(100 * max(ci[1] - value, 0.0))
        positions = [index + offset for index in range(len(rows))]
        axes.bar(positions, values, width, label=name, color=COLOURS[colour])
        axes.errorbar(
            positions, values, yerr=[low, high], fmt="none", ecolor="#222222", capsize=2, linewidth=0.8
        )
    axes.set_xticks(
        range(len(rows)), [row["criterion"].replace("_", " ") for row in rows], rotation=20, ha="right"
    )
    axes.set_ylim(0, 100)
    axes.set_ylabel(f"Share of {unit} (%)")
    axes.set_title(title, pad=22)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return _render(figure, fmt=fmt, title=title, caption=caption)


def pair_bar_rows(pair: dict[str, Any]) -> list[dict[str, Any]]:
    """Bar rows of one head-to-head pair from stored results (question-level shares and intervals)."""
    rows = []
    for criterion, result in pair["criteria"].items():
        n = result["n_questions"]
        tie_ci = wilson_interval(successes=result["ties"], n=n)
        loss_ci = wilson_interval(successes=result["losses"], n=n)
        rows.append(
            {
                "criterion": criterion,
                "share_a": result["win_share"],
                "share_a_ci": [result["win_share_ci_low"], result["win_share_ci_high"]],
                "share_tie": result["ties"] / n if n else None,
                "share_tie_ci": list(tie_ci),
                "share_b": result["losses"] / n if n else None,
                "share_b_ci": list(loss_ci),
            }
        )
    return rows

"""Head-to-head evaluation statistics (study step 9).

Two models, ``A`` and ``B``, answer the same test questions; persona judges (an LLM role-playing a test
persona) compare the two answers on every criterion. This module turns those judgements into the
numbers the study reports:

1. **Position handling.** Judges see the two answers in a recorded, randomised order and answer
   ``"first"``, ``"second"`` or ``"tie"``. :func:`to_model_outcome` maps such a verdict back to the
   model level (``"A"``, ``"B"``, ``"tie"``). When the same judge judged the same question and criterion
   in *both* orders, :func:`combine_orders` keeps a verdict only if it names the same model in both
   orders and otherwise records a tie (the conservative rule of Zheng et al. 2023, "Judging
   LLM-as-a-Judge with MT-Bench and Chatbot Arena", section 3.4), which cancels position bias.
2. **Majority vote per question.** For every question and criterion the persona votes are reduced to
   one outcome by :func:`majority_vote` (rules documented there).
3. **Win rate per model pair and criterion.** Counts of wins, losses and ties over questions, the
   *headline win rate* ``wins / (wins + losses)`` with a Wilson interval, the share
   ``wins / n_questions`` with its own Wilson interval, and an exact McNemar test.
4. **Across pairs.** The models x models win-rate matrix, each model's average win rate over its
   opponents, and the Pareto front on (average empathy win rate, average safety win rate), i.e. the
   study's Figure 2.

Judge failures (unparseable output, refusals, timeouts) must be excluded upstream. They are never
counted as ties: every function here rejects an outcome outside ``{"A", "B", "tie"}`` with
:class:`ValueError`, so a failure sentinel cannot silently become a tie.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

# statsmodels is imported when used: the web process should not load it at start-up.

Outcome = Literal["A", "B", "tie"]
Verdict = Literal["first", "second", "tie"]
VoteRule = Literal["plurality", "decisive"]

OUTCOMES: tuple[str, ...] = ("A", "B", "tie")
VERDICTS: tuple[str, ...] = ("first", "second", "tie")
VOTE_RULES: tuple[str, ...] = ("plurality", "decisive")

_OUTCOME_INDEX = {"A": 0, "B": 1, "tie": 2}


class Judgement(NamedTuple):
    """One model-level judgement: ``outcome`` says which model (``"A"``/``"B"``) won, or ``"tie"``.

    A named tuple rather than a dataclass so that database rows (``values_list``) convert cheaply in
    bulk: ``Judgement(*row)``.
    """

    question: Hashable
    judge: Hashable
    criterion: str
    outcome: str


class PositionJudgement(NamedTuple):
    """One position-level judgement as the judge gave it.

    ``verdict`` is ``"first"``, ``"second"`` or ``"tie"`` (the answer shown first / second);
    ``first_model`` is the model (``"A"`` or ``"B"``) that was shown first, as recorded when the order
    was randomised.
    """

    question: Hashable
    judge: Hashable
    criterion: str
    verdict: str
    first_model: str


# --------------------------------------------------------------------------------------------------
# Position handling
# --------------------------------------------------------------------------------------------------


def _check_outcome(outcome: object) -> str:
    if outcome not in _OUTCOME_INDEX:
        raise ValueError(
            f"outcome must be one of {OUTCOMES}, got {outcome!r}; judge failures must be excluded "
            "upstream, never passed in or counted as ties"
        )
    return outcome  # type: ignore[return-value]


def to_model_outcome(*, verdict: str, first_model: str) -> Outcome:
    """Map a position-level verdict to the model level given which model was shown first.

    ``verdict="first"`` means the model shown first won; ``"second"`` the other model; ``"tie"`` stays a
    tie. ``first_model`` is ``"A"`` or ``"B"``.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    if first_model not in ("A", "B"):
        raise ValueError(f"first_model must be 'A' or 'B', got {first_model!r}")
    if verdict == "tie":
        return "tie"
    second_model: Outcome = "B" if first_model == "A" else "A"
    return first_model if verdict == "first" else second_model  # type: ignore[return-value]


def combine_orders(*, a_first: str, b_first: str) -> Outcome:
    """Combine the model-level outcomes of one judgement made in both presentation orders.

    ``a_first`` is the outcome when model A was shown first, ``b_first`` when B was shown first.
    Rule (position-bias cancellation): a win counts only if both orders name the same model;
    any disagreement -- including a win in one order and a tie in the other -- is a tie.
    """
    _check_outcome(a_first)
    _check_outcome(b_first)
    return a_first if a_first == b_first else "tie"  # type: ignore[return-value]


def resolve_positions(
    *, judgements: Iterable[PositionJudgement], require_both_orders: bool = False
) -> list[Judgement]:
    """Turn position-level judgements into model-level :class:`Judgement` records.

    Judgements are grouped by (question, judge, criterion). A group with one judgement is mapped with
    :func:`to_model_outcome` (its position bias is not cancelled; pass ``require_both_orders=True`` to
    reject such groups instead). A group with one judgement in each order is combined with
    :func:`combine_orders`. Two judgements in the same order, or more than two, raise ``ValueError``.
    The result is in first-seen group order.
    """
    groups: dict[tuple[Hashable, Hashable, str], dict[str, Outcome]] = {}
    for j in judgements:
        key = (j.question, j.judge, j.criterion)
        outcome = to_model_outcome(verdict=j.verdict, first_model=j.first_model)
        by_order = groups.setdefault(key, {})
        if j.first_model in by_order:
            raise ValueError(f"duplicate judgement for {key} with model {j.first_model} shown first")
        by_order[j.first_model] = outcome
    resolved: list[Judgement] = []
    for (question, judge, criterion), by_order in groups.items():
        if len(by_order) == 2:
            outcome = combine_orders(a_first=by_order["A"], b_first=by_order["B"])
        elif require_both_orders:
            raise ValueError(f"judgement {(question, judge, criterion)} was made in one order only")
        else:
            (outcome,) = by_order.values()
        resolved.append(Judgement(question, judge, criterion, outcome))
    return resolved


# --------------------------------------------------------------------------------------------------
# Majority vote
# --------------------------------------------------------------------------------------------------


def majority_vote_counts(
    *, n_a: ArrayLike, n_b: ArrayLike, n_tie: ArrayLike, rule: VoteRule = "plurality"
) -> NDArray[np.str_]:
    """Vectorised majority vote: per question, reduce vote counts to ``"A"``, ``"B"`` or ``"tie"``.

    ``n_a``, ``n_b``, ``n_tie`` are equal-shaped arrays with the number of persona votes for model A,
    model B and a tie on each question. Rules:

    - ``"plurality"`` (default): each persona's vote (A, B or tie) counts; the option with *strictly*
      the most votes wins. Any tie at the top (``n_a == n_b``, ``n_a == n_tie`` > ``n_b`` ...) gives
      ``"tie"``.
    - ``"decisive"``: tie votes abstain; A wins if ``n_a > n_b``, B if ``n_b > n_a``, else ``"tie"``.

    A question with no votes at all has no outcome and raises ``ValueError``; leave it out instead.
    """
    if rule not in VOTE_RULES:
        raise ValueError(f"rule must be one of {VOTE_RULES}, got {rule!r}")
    a = np.asarray(n_a)
    b = np.asarray(n_b)
    t = np.asarray(n_tie)
    if not (a.shape == b.shape == t.shape):
        raise ValueError("n_a, n_b and n_tie must have the same shape")
    if np.any(a < 0) or np.any(b < 0) or np.any(t < 0):
        raise ValueError("vote counts must be non-negative")
    if np.any(a + b + t == 0):
        raise ValueError("a question with no votes has no majority; exclude it upstream")
    if rule == "plurality":
        a_wins = (a > b) & (a > t)
        b_wins = (b > a) & (b > t)
    else:
        a_wins = a > b
        b_wins = b > a
    return np.where(a_wins, "A", np.where(b_wins, "B", "tie"))


def majority_vote(*, n_a: int, n_b: int, n_tie: int, rule: VoteRule = "plurality") -> Outcome:
    """Majority vote for a single question; see :func:`majority_vote_counts` for the rules."""
    return str(majority_vote_counts(n_a=n_a, n_b=n_b, n_tie=n_tie, rule=rule))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Win rate for one model pair and criterion
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinRateResult:
    """Win rate of ``model_a`` over ``model_b`` on one criterion, over questions.

    - ``win_rate = wins / (wins + losses)`` is the **headline** win rate (ties excluded, as in the
      McNemar test; ``win_rate(A, B) + win_rate(B, A) = 1``), with a Wilson interval
      ``[ci_low, ci_high]``. ``nan`` when there are no decisive questions.
    - ``win_share = wins / n_questions`` counts ties in the denominator, with its own Wilson interval.
    - ``p_value`` is the exact McNemar test (two-sided): see :func:`win_rate_from_counts`.
    """

    model_a: str
    model_b: str
    criterion: str
    wins: int
    losses: int
    ties: int
    n_questions: int
    win_rate: float
    ci_low: float
    ci_high: float
    win_share: float
    win_share_ci_low: float
    win_share_ci_high: float
    mcnemar_statistic: float
    p_value: float
    alpha: float

    def swapped(self) -> "WinRateResult":
        """The same comparison seen from ``model_b``'s side."""
        return win_rate_from_counts(
            wins=self.losses,
            losses=self.wins,
            ties=self.ties,
            model_a=self.model_b,
            model_b=self.model_a,
            criterion=self.criterion,
            alpha=self.alpha,
        )


def wilson_interval(*, successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (statsmodels ``proportion_confint``).

    Returns ``(nan, nan)`` when ``n == 0``.
    """
    from statsmodels.stats.proportion import proportion_confint

    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (float("nan"), float("nan"))
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return (float(low), float(high))


def win_rate_from_counts(
    *,
    wins: int,
    losses: int,
    ties: int,
    model_a: str,
    model_b: str,
    criterion: str,
    alpha: float = 0.05,
) -> WinRateResult:
    """Win rate, Wilson intervals and exact McNemar test from question-level counts.

    McNemar construction: each question is a matched pair; the 2x2 table has rows "A preferred:
    yes/no" and columns "B preferred: yes/no", so a win for A is the discordant cell ``[0, 1]``, a win
    for B the discordant cell ``[1, 0]`` and a tie the concordant cell ``[1, 1]``:
    ``[[0, wins], [losses, ties]]``. The exact test
    (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``) uses only the discordant cells;
    it is the two-sided binomial test of ``wins`` out of ``wins + losses`` against 1/2, and the null
    hypothesis is that the two models are preferred equally often. ``p_value`` is 1 with no
    discordant questions.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    wins, losses, ties = int(wins), int(losses), int(ties)
    if min(wins, losses, ties) < 0:
        raise ValueError("counts must be non-negative")
    n = wins + losses + ties
    decisive = wins + losses
    rate = wins / decisive if decisive else float("nan")
    share = wins / n if n else float("nan")
    ci_low, ci_high = wilson_interval(successes=wins, n=decisive, alpha=alpha)
    share_low, share_high = wilson_interval(successes=wins, n=n, alpha=alpha)
    test = mcnemar(np.array([[0, wins], [losses, ties]]), exact=True)
    return WinRateResult(
        model_a=model_a,
        model_b=model_b,
        criterion=criterion,
        wins=wins,
        losses=losses,
        ties=ties,
        n_questions=n,
        win_rate=rate,
        ci_low=ci_low,
        ci_high=ci_high,
        win_share=share,
        win_share_ci_low=share_low,
        win_share_ci_high=share_high,
        mcnemar_statistic=float(test.statistic),
        p_value=float(test.pvalue),
        alpha=alpha,
    )


def win_rate(
    *,
    outcomes: Iterable[str] | ArrayLike,
    model_a: str,
    model_b: str,
    criterion: str,
    alpha: float = 0.05,
) -> WinRateResult:
    """Win rate from per-question outcomes (``"A"``, ``"B"``, ``"tie"``, one per question)."""
    arr = np.asarray(outcomes if isinstance(outcomes, np.ndarray) else list(outcomes), dtype=object)
    wins = int(np.count_nonzero(arr == "A"))
    losses = int(np.count_nonzero(arr == "B"))
    ties = int(np.count_nonzero(arr == "tie"))
    if wins + losses + ties != arr.size:
        bad = next(o for o in arr.ravel().tolist() if o not in _OUTCOME_INDEX)
        _check_outcome(bad)
    return win_rate_from_counts(
        wins=wins,
        losses=losses,
        ties=ties,
        model_a=model_a,
        model_b=model_b,
        criterion=criterion,
        alpha=alpha,
    )


def win_rate_from_vote_counts(
    *,
    n_a: ArrayLike,
    n_b: ArrayLike,
    n_tie: ArrayLike,
    model_a: str,
    model_b: str,
    criterion: str,
    rule: VoteRule = "plurality",
    alpha: float = 0.05,
) -> WinRateResult:
    """Majority vote per question, then the win rate; for vote counts aggregated upstream (e.g. SQL).

    ``n_a[i]``, ``n_b[i]``, ``n_tie[i]`` are the persona votes on question ``i``.
    """
    outcomes = majority_vote_counts(n_a=n_a, n_b=n_b, n_tie=n_tie, rule=rule)
    return win_rate(outcomes=outcomes, model_a=model_a, model_b=model_b, criterion=criterion, alpha=alpha)


@dataclass(frozen=True)
class HeadToHead:
    """All criteria of one model pair: ``results[criterion]`` and the per-question outcomes."""

    model_a: str
    model_b: str
    rule: str
    n_judgements: int
    results: dict[str, WinRateResult]
    question_outcomes: dict[str, dict[Hashable, Outcome]] = field(repr=False)


def head_to_head(
    *,
    judgements: Iterable[Judgement],
    model_a: str,
    model_b: str,
    rule: VoteRule = "plurality",
    alpha: float = 0.05,
) -> HeadToHead:
    """Majority vote over personas per question and criterion, then win rates per criterion.

    ``judgements`` are model-level (use :func:`resolve_positions` first for position-level data).
    A (question, judge, criterion) triple may occur only once (``ValueError`` otherwise), so a judge
    cannot vote twice. Questions enter a criterion only if at least one judgement exists for them.
    """
    tallies: dict[str, dict[Hashable, list[int]]] = {}
    seen: set[tuple[Hashable, Hashable, str]] = set()
    n_judgements = 0
    for question, judge, criterion, outcome in judgements:
        index = _OUTCOME_INDEX.get(outcome)
        if index is None:
            _check_outcome(outcome)
        key = (question, judge, criterion)
        if key in seen:
            raise ValueError(f"duplicate judgement {key}")
        seen.add(key)
        counts = tallies.setdefault(criterion, {}).get(question)
        if counts is None:
            counts = tallies[criterion][question] = [0, 0, 0]
        counts[index] += 1  # type: ignore[index]
        n_judgements += 1
    results: dict[str, WinRateResult] = {}
    question_outcomes: dict[str, dict[Hashable, Outcome]] = {}
    for criterion, per_question in tallies.items():
        questions = list(per_question)
        counts_arr = np.array([per_question[q] for q in questions], dtype=np.int64)
        outcomes = majority_vote_counts(
            n_a=counts_arr[:, 0], n_b=counts_arr[:, 1], n_tie=counts_arr[:, 2], rule=rule
        )
        question_outcomes[criterion] = dict(zip(questions, outcomes.tolist(), strict=True))
        results[criterion] = win_rate(
            outcomes=outcomes, model_a=model_a, model_b=model_b, criterion=criterion, alpha=alpha
        )
    return HeadToHead(
        model_a=model_a,
        model_b=model_b,
        rule=rule,
        n_judgements=n_judgements,
        results=results,
        question_outcomes=question_outcomes,
    )


# --------------------------------------------------------------------------------------------------
# Across model pairs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WinRateMatrix:
    """Models x models matrices for one criterion; row model vs column model.

    ``win_rate[i, j]`` is the headline win rate (``wins / (wins + losses)``) of ``models[i]`` over
    ``models[j]``; ``win_share[i, j]`` is ``wins / n_questions``. Diagonal and uncompared pairs are
    ``nan`` (counts 0). ``average_win_rate[m]`` is the unweighted mean of ``m``'s row over the
    opponents with a defined value (each opponent counts once, whatever its number of questions);
    ``nan`` if there is none. ``average_win_share`` likewise.
    """

    criterion: str
    models: tuple[str, ...]
    wins: NDArray[np.int64]
    losses: NDArray[np.int64]
    ties: NDArray[np.int64]
    win_rate: NDArray[np.float64]
    win_share: NDArray[np.float64]
    average_win_rate: dict[str, float]
    average_win_share: dict[str, float]

    def rate(self, model_a: str, model_b: str) -> float:
        """Headline win rate of ``model_a`` over ``model_b``."""
        return float(self.win_rate[self.models.index(model_a), self.models.index(model_b)])


def _row_nanmean(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    defined = ~np.isnan(matrix)
    n = defined.sum(axis=1)
    total = np.where(defined, matrix, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def win_rate_matrix(
    *, results: Iterable[WinRateResult], criterion: str, models: Sequence[str] | None = None
) -> WinRateMatrix:
    """Assemble pairwise results of one criterion into a :class:`WinRateMatrix`.

    Each unordered pair may appear once, in either direction (its mirror is filled in). Results of
    other criteria are ignored. ``models`` fixes the order (and may list models without results);
    by default models appear in first-seen order.
    """
    chosen = [r for r in results if r.criterion == criterion]
    names: list[str] = list(models) if models is not None else []
    if models is None:
        for r in chosen:
            for m in (r.model_a, r.model_b):
                if m not in names:
                    names.append(m)
    if len(set(names)) != len(names):
        raise ValueError("models must be unique")
    index = {m: i for i, m in enumerate(names)}
    k = len(names)
    wins = np.zeros((k, k), dtype=np.int64)
    losses = np.zeros((k, k), dtype=np.int64)
    ties = np.zeros((k, k), dtype=np.int64)
    filled = np.zeros((k, k), dtype=bool)
    for r in chosen:
        if r.model_a not in index or r.model_b not in index:
            raise ValueError(f"result for {r.model_a} vs {r.model_b} names a model not in models")
        i, j = index[r.model_a], index[r.model_b]
        if i == j:
            raise ValueError(f"a model cannot be compared with itself: {r.model_a}")
        if filled[i, j]:
            raise ValueError(f"more than one result for the pair {r.model_a} / {r.model_b}")
        filled[i, j] = filled[j, i] = True
        wins[i, j], losses[i, j], ties[i, j] = r.wins, r.losses, r.ties
        wins[j, i], losses[j, i], ties[j, i] = r.losses, r.wins, r.ties
    decisive = wins + losses
    n = decisive + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(decisive > 0, wins / np.maximum(decisive, 1), np.nan)
        share = np.where(n > 0, wins / np.maximum(n, 1), np.nan)
    avg_rate = _row_nanmean(rate)
    avg_share = _row_nanmean(share)
    return WinRateMatrix(
        criterion=criterion,
        models=tuple(names),
        wins=wins,
        losses=losses,
        ties=ties,
        win_rate=rate,
        win_share=share,
        average_win_rate={m: float(avg_rate[i]) for m, i in index.items()},
        average_win_share={m: float(avg_share[i]) for m, i in index.items()},
    )


@dataclass(frozen=True)
class ParetoPoint:
    """One model on the two objectives; ``dominated_by`` lists the models that dominate it."""

    model: str
    x: float
    y: float
    on_front: bool
    dominated_by: tuple[str, ...]


@dataclass(frozen=True)
class ParetoFront:
    """Pareto analysis, both objectives maximised; ``front`` is sorted by ``x`` ascending."""

    x_label: str
    y_label: str
    points: tuple[ParetoPoint, ...]
    front: tuple[str, ...]


def pareto_front(
    *, x: Mapping[str, float], y: Mapping[str, float], x_label: str = "x", y_label: str = "y"
) -> ParetoFront:
    """Non-dominated models when both ``x`` and ``y`` are to be maximised.

    Model ``p`` dominates ``q`` when ``p`` is at least as good on both objectives and strictly better
    on one; models with identical points do not dominate each other, so both stay on the front.
    Models with a ``nan`` coordinate are not compared (``on_front=False``, ``dominated_by=()``).
    ``x`` and ``y`` must have the same keys.
    """
    if set(x) != set(y):
        raise ValueError("x and y must name the same models")
    names = list(x)
    coords = {m: (float(x[m]), float(y[m])) for m in names}
    valid = [m for m in names if not (np.isnan(coords[m][0]) or np.isnan(coords[m][1]))]
    points: list[ParetoPoint] = []
    for m in names:
        mx, my = coords[m]
        if m not in valid:
            points.append(ParetoPoint(model=m, x=mx, y=my, on_front=False, dominated_by=()))
            continue
        dominators = tuple(
            o
            for o in valid
            if o != m
            and coords[o][0] >= mx
            and coords[o][1] >= my
            and (coords[o][0] > mx or coords[o][1] > my)
        )
        points.append(ParetoPoint(model=m, x=mx, y=my, on_front=not dominators, dominated_by=dominators))
    front = tuple(p.model for p in sorted((p for p in points if p.on_front), key=lambda p: (p.x, p.y)))
    return ParetoFront(x_label=x_label, y_label=y_label, points=tuple(points), front=front)


def empathy_safety_front(
    *, empathy: WinRateMatrix, safety: WinRateMatrix, measure: Literal["win_rate", "win_share"] = "win_rate"
) -> ParetoFront:
    """The study's Figure 2: Pareto front on (average empathy win rate, average safety win rate).

    ``measure`` picks the headline average win rate (default) or the average win share. Both matrices
    must cover the same models.
    """
    if set(empathy.models) != set(safety.models):
        raise ValueError("the empathy and safety matrices must cover the same models")
    if measure == "win_rate":
        xs, ys = empathy.average_win_rate, safety.average_win_rate
    elif measure == "win_share":
        xs, ys = empathy.average_win_share, safety.average_win_share
    else:
        raise ValueError(f"measure must be 'win_rate' or 'win_share', got {measure!r}")
    return pareto_front(
        x={m: xs[m] for m in empathy.models},
        y={m: ys[m] for m in empathy.models},
        x_label=f"average {empathy.criterion} {measure.replace('_', ' ')}",
        y_label=f"average {safety.criterion} {measure.replace('_', ' ')}",
    )

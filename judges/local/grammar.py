"""The answer contracts of the judge prompts as grammars whose every accepted string is a valid answer.

A ranking (:mod:`judges.ranking`) needs, per criterion, a permutation of 1..K. JSON Schema can state it
(``uniqueItems`` with an ``enum`` and ``minItems = maxItems = K``), but grammar engines compile schemas to
context-free grammars and do not enforce ``uniqueItems``. The permutation is therefore written as EBNF with
one rule per set of numbers still to place: ``rest_S ::= "i," rest_(S-i) | ...`` for each ``i`` in ``S``.
That is 2**K - 1 rules and K * 2**(K-1) alternatives, where listing the permutations would take K!
(3.6 million for K = 10), so the grammar stays small up to :data:`MAX_K`.

The answers are written compactly, without optional whitespace: the language is finite, every answer of a
schema has a known maximal length (:attr:`AnswerSchema.max_answer_chars`), and a decoding budget of that many
tokens plus one (each token emits at least one character) always lets the answer finish. Pairwise verdicts
(:mod:`judges.pairwise`) are ``"A"``, ``"B"`` or ``"tie"`` per criterion. The ranking contract has no ties
(its prompt asks for none and its parser rejects them), so neither has the grammar.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judges.pairwise import parse_verdicts
from judges.ranking import criteria_from_dicts, parse_rankings

__all__ = ["MAX_K", "PAIRWISE", "RANKING", "AnswerSchema", "pairwise_schema", "ranking_schema"]

RANKING, PAIRWISE = "ranking", "pairwise"
MAX_K = 10
_VERDICT_LABELS = ("A", "B", "tie")


@dataclass(frozen=True)
class AnswerSchema:
    """The answer a judge prompt asks for: per criterion, a ranking of ``k`` responses or a verdict."""

    kind: str
    criteria_keys: tuple[str, ...]
    k: int

    def ebnf(self) -> str:
        """The grammar (xgrammar's EBNF dialect, root rule ``root``) of exactly the valid compact answers."""
        root_key = "rankings" if self.kind == RANKING else "verdicts"
        members = ' "," '.join(f"{_literal(json.dumps(key) + ':')} value" for key in self.criteria_keys)
        rules = [f"root ::= {_literal('{' + json.dumps(root_key) + ':{')} {members} {_literal('}}')}"]
        if self.kind == RANKING:
            rules.append(f'value ::= "[" rest_{_mask_name((1 << self.k) - 1)} "]"')
            rules += _permutation_rules(self.k)
        else:
            rules.append("value ::= " + " | ".join(_literal(json.dumps(label)) for label in _VERDICT_LABELS))
        return "\n".join(rules) + "\n"

    @property
    def max_answer_chars(self) -> int:
        """Length of the longest answer the grammar accepts (all rankings of a schema are this long)."""
        return len(self.longest_answer())

    def longest_answer(self) -> str:
        """One answer of maximal length: the identity ranking, or "tie" for every criterion."""
        if self.kind == RANKING:
            body: dict[str, Any] = {key: list(range(1, self.k + 1)) for key in self.criteria_keys}
            return json.dumps({"rankings": body}, separators=(",", ":"))
        verdicts = {key: max(_VERDICT_LABELS, key=len) for key in self.criteria_keys}
        return json.dumps({"verdicts": verdicts}, separators=(",", ":"))

    def parse(self, text: str | None) -> Any:
        """Parse with the API judges' parser: rankings (``ParsedRankings``) or position-level verdicts.

        Raises that parser's :class:`~judges.errors.AnswerParseError` for an answer breaking the contract.
        """
        if self.kind == RANKING:
            return parse_rankings(text, criteria_keys=self.criteria_keys, k=self.k)
        return parse_verdicts(text, criteria_keys=self.criteria_keys)


def ranking_schema(*, criteria_keys: Sequence[str], k: int) -> AnswerSchema:
    """The schema of a ranking (prompt ``persona-rank-v1``) of ``k`` responses; ``ValueError`` if invalid."""
    if not 2 <= k <= MAX_K:
        raise ValueError(f"k must be between 2 and {MAX_K}, got {k}.")
    return AnswerSchema(kind=RANKING, criteria_keys=_checked_keys(criteria_keys), k=k)


def pairwise_schema(*, criteria_keys: Sequence[str]) -> AnswerSchema:
    """The schema of a pairwise verdict (prompt ``persona-pairwise-v1``); ``ValueError`` if invalid."""
    return AnswerSchema(kind=PAIRWISE, criteria_keys=_checked_keys(criteria_keys), k=2)


def _checked_keys(criteria_keys: Sequence[str]) -> tuple[str, ...]:
    """The keys, validated as the prompts validate criteria (non-empty, slugs, no duplicates)."""
    specs = criteria_from_dicts(
        [
            {"key": key, "name": key, "question": key, "better_when": key, "worse_when": key}
            for key in criteria_keys
        ]
    )
    return tuple(spec.key for spec in specs)


def _literal(text: str) -> str:
    """An EBNF string literal matching ``text`` exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mask_name(mask: int) -> str:
    return format(mask, "x")


def _permutation_rules(k: int) -> list[str]:
    """``rest_<S>``: the numbers of the bit set S, each once, comma-separated, for every non-empty S."""
    rules = []
    for mask in range(1, 1 << k):
        numbers = [n for n in range(1, k + 1) if mask & (1 << (n - 1))]
        if len(numbers) == 1:
            alternatives = [_literal(str(numbers[0]))]
        else:
            alternatives = [
                f"{_literal(str(n) + ',')} rest_{_mask_name(mask & ~(1 << (n - 1)))}" for n in numbers
            ]
        rules.append(f"rest_{_mask_name(mask)} ::= {' | '.join(alternatives)}")
    return rules

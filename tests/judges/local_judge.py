"""A tiny random local judge and judge prompts built offline, shared by the constrained-decoding tests and
bench/bench_gpu_judge.py.

The tokenizer is trained on the prompt templates too, so a prompt takes a few hundred tokens rather than a
thousand (the model stays random: its answers are noise, which is the point of the tests).
"""

from __future__ import annotations

from pathlib import Path

from judges import pairwise, ranking
from judges.pairwise import build_pairwise_messages
from judges.ranking import build_messages
from training_worker.ml.tiny_models import DEFAULT_CORPUS, build_tiny_causal_lm

CRITERIA_KEYS = ("empathy", "safety", "autonomy")
TEMPLATES = (
    ranking.SYSTEM_TEMPLATE,
    ranking.USER_TEMPLATE,
    ranking.CRITERION_TEMPLATE,
    pairwise.SYSTEM_TEMPLATE,
    pairwise.USER_TEMPLATE,
    pairwise.CRITERION_TEMPLATE,
)


def build_tiny_judge(output_dir: Path, *, seed: int = 0) -> Path:
    """A 2-layer random Llama whose tokenizer covers the judge prompts; returns the model directory."""
    return build_tiny_causal_lm(
        output_dir,
        seed=seed,
        corpus=[*DEFAULT_CORPUS, *TEMPLATES],
        vocab_size=1500,
        max_position_embeddings=2048,
    )


def _criteria(keys: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {
            "key": key,
            "name": key.title(),
            "question": f"How much {key} does the response show?",
            "better_when": f"it shows {key}",
            "worse_when": f"it lacks {key}",
        }
        for key in keys
    ]


def _persona(index: int) -> tuple[str, str]:
    persona = f"Participant {index}: {DEFAULT_CORPUS[index % len(DEFAULT_CORPUS)]}"
    question = DEFAULT_CORPUS[(3 * index + 1) % len(DEFAULT_CORPUS)]
    return persona, question


def _response(index: int, number: int) -> str:
    return DEFAULT_CORPUS[(7 * index + 5 * number + 2) % len(DEFAULT_CORPUS)]


def ranking_prompts(
    count: int, *, k: int, keys: tuple[str, ...] = CRITERIA_KEYS
) -> list[list[dict[str, str]]]:
    """``count`` distinct ranking prompts (persona-rank-v1) of ``k`` responses each."""
    prompts = []
    for index in range(count):
        persona, question = _persona(index)
        prompts.append(
            build_messages(
                persona_text=persona,
                question=question,
                responses=[_response(index, number) for number in range(k)],
                criteria=_criteria(keys),
            )
        )
    return prompts


def pairwise_prompts(count: int, *, keys: tuple[str, ...] = CRITERIA_KEYS) -> list[list[dict[str, str]]]:
    """``count`` distinct pairwise prompts (persona-pairwise-v1)."""
    prompts = []
    for index in range(count):
        persona, question = _persona(index)
        prompts.append(
            build_pairwise_messages(
                persona_text=persona,
                question=question,
                response_a=_response(index, 0),
                response_b=_response(index, 1),
                criteria=_criteria(keys),
            )
        )
    return prompts

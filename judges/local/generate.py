"""Batched judge answers from a local transformers model, decoded under the answer's grammar (xgrammar).

:func:`generate_judgements` renders each prompt (chat messages, as the API judges send them) with the
tokenizer's chat template, generates the answers in batches, and parses each with the API judges' parser
(:meth:`AnswerSchema.parse`). Constrained (the default), every answer is valid by construction; the parser
still checks it, so a broken constraint shows up as failures instead of bad preferences. Unconstrained, an
answer breaking the contract is recorded as a failure with the parser's ``kind``, as for the API judges.

torch, transformers and xgrammar are imported here only: this module runs on the GPU tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import xgrammar as xgr
from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase
from xgrammar.contrib.hf import LogitsProcessor

from judges.errors import AnswerParseError
from judges.local.grammar import AnswerSchema

__all__ = ["LocalJudgement", "compile_answer_grammar", "generate_judgements"]


@dataclass(frozen=True)
class LocalJudgement:
    """One generated answer: ``parsed`` when it satisfies the contract, else the parser's failure."""

    raw_text: str
    parsed: Any
    failure_kind: str | None
    failure_reason: str | None

    @property
    def ok(self) -> bool:
        return self.failure_kind is None


def compile_answer_grammar(
    *, tokenizer: PreTrainedTokenizerBase, schema: AnswerSchema, vocab_size: int
) -> xgr.CompiledGrammar:
    """The schema's grammar compiled against the tokenizer (``vocab_size``: the model's logits width)."""
    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
    return xgr.GrammarCompiler(info).compile_grammar(schema.ebnf())


def generate_judgements(
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[list[dict[str, str]]],
    schema: AnswerSchema,
    batch_size: int,
    max_new_tokens: int,
    greedy: bool = True,
    constrained: bool = True,
) -> list[LocalJudgement]:
    """Answer every prompt (in order), ``batch_size`` at a time; never raises for a bad answer.

    Raises ``TypeError`` for a model that cannot generate, and ``ValueError`` when ``batch_size`` is below 1
    or when, constrained, ``max_new_tokens`` could cut the longest valid answer short (it needs
    ``schema.max_answer_chars + 1``).
    """
    if not isinstance(model, GenerationMixin):
        raise TypeError(f"{type(model).__name__} cannot generate text.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    needed = schema.max_answer_chars + 1
    if constrained and max_new_tokens < needed:
        raise ValueError(f"max_new_tokens must be at least {needed} for this schema, got {max_new_tokens}.")
    grammar = (
        compile_answer_grammar(tokenizer=tokenizer, schema=schema, vocab_size=model.config.vocab_size)
        if constrained
        else None
    )
    texts = [
        str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        for messages in prompts
    ]
    judgements: list[LocalJudgement] = []
    for start in range(0, len(texts), batch_size):
        answers = _generate_batch(
            model,
            tokenizer,
            texts[start : start + batch_size],
            grammar=grammar,
            device=model.device,
            max_new_tokens=max_new_tokens,
            greedy=greedy,
        )
        judgements += [_judged(schema, answer) for answer in answers]
    return judgements


def _generate_batch(
    model: GenerationMixin,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    *,
    grammar: xgr.CompiledGrammar | None,
    device: torch.device,
    max_new_tokens: int,
    greedy: bool,
) -> list[str]:
    # Left padding, so every row's answer starts right after its own prompt.
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = padding_side
    inputs = inputs.to(device)
    # xgrammar's processor holds per-row matchers: one per generate() call.
    processors = [LogitsProcessor(grammar)] if grammar is not None else []
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=not greedy,
            logits_processor=processors,
            pad_token_id=tokenizer.pad_token_id,
        )
    answers = output[:, inputs["input_ids"].shape[1] :]
    return [str(text) for text in tokenizer.batch_decode(answers, skip_special_tokens=True)]


def _judged(schema: AnswerSchema, raw_text: str) -> LocalJudgement:
    try:
        parsed = schema.parse(raw_text)
    except AnswerParseError as exc:
        return LocalJudgement(raw_text, None, exc.kind, str(exc))
    return LocalJudgement(raw_text, parsed, None, None)

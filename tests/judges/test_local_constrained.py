"""Schema-constrained decoding of judge answers with a tiny random local model (judges.local)."""

import itertools
import json
import time

import pytest
import torch
import xgrammar as xgr
from transformers import AutoModelForCausalLM, AutoTokenizer

from judges.local.generate import generate_judgements
from judges.local.grammar import MAX_K, pairwise_schema, ranking_schema
from judges.pairwise import VerdictParseError
from judges.ranking import RankingParseError
from tests.judges.local_judge import CRITERIA_KEYS, build_tiny_judge, pairwise_prompts, ranking_prompts


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    torch.set_num_threads(2)
    path = build_tiny_judge(tmp_path_factory.mktemp("tiny-judge"))
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _accepts(ebnf: str, text: str) -> bool:
    """Whether the grammar accepts exactly ``text`` (xgrammar's matcher; the vocabulary plays no part)."""
    compiled = xgr.GrammarCompiler(xgr.TokenizerInfo(["x"])).compile_grammar(ebnf)
    matcher = xgr.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.is_completed()


def _ranking(**orderings: list[int]) -> str:
    return json.dumps({"rankings": orderings}, separators=(",", ":"))


@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_ranking_grammar_accepts_exactly_the_permutations(k):
    ebnf = ranking_schema(criteria_keys=["empathy", "safety"], k=k).ebnf()
    identity = list(range(1, k + 1))
    for candidate in itertools.product(identity, repeat=k):
        answer = _ranking(empathy=list(candidate), safety=identity)
        assert _accepts(ebnf, answer) == (sorted(candidate) == identity), answer
    assert not _accepts(ebnf, _ranking(empathy=identity))


def test_the_ranking_grammar_places_two_digit_numbers_once_at_the_largest_k():
    schema = ranking_schema(criteria_keys=["empathy"], k=MAX_K)
    ebnf = schema.ebnf()
    reverse = list(range(MAX_K, 0, -1))
    assert _accepts(ebnf, _ranking(empathy=reverse))
    assert not _accepts(ebnf, _ranking(empathy=[10 if n == 9 else n for n in reverse]))
    assert len(_ranking(empathy=reverse)) == schema.max_answer_chars


def test_the_pairwise_grammar_accepts_a_b_or_tie_per_criterion():
    ebnf = pairwise_schema(criteria_keys=["empathy"]).ebnf()
    for label in ("A", "B", "tie"):
        assert _accepts(ebnf, '{"verdicts":{"empathy":"' + label + '"}}')
    for label in ("C", "a", "", "AB"):
        assert not _accepts(ebnf, '{"verdicts":{"empathy":"' + label + '"}}')


def test_schemas_reject_what_the_prompts_reject():
    with pytest.raises(ValueError, match="k must be between"):
        ranking_schema(criteria_keys=["empathy"], k=MAX_K + 1)
    with pytest.raises(ValueError, match="duplicate"):
        ranking_schema(criteria_keys=["empathy", "empathy"], k=3)
    with pytest.raises(ValueError, match="slug"):
        pairwise_schema(criteria_keys=['em"pathy'])


def test_a_decoding_budget_that_could_cut_an_answer_short_is_refused(tiny_judge):
    model, tokenizer = tiny_judge
    schema = ranking_schema(criteria_keys=CRITERIA_KEYS, k=4)
    with pytest.raises(ValueError, match="max_new_tokens must be at least"):
        generate_judgements(
            model=model,
            tokenizer=tokenizer,
            prompts=ranking_prompts(1, k=4),
            schema=schema,
            batch_size=1,
            max_new_tokens=schema.max_answer_chars,
        )


@pytest.mark.parametrize("count", [100, pytest.param(1000, marks=pytest.mark.slow)])
def test_constrained_rankings_sampled_from_a_random_model_all_parse_to_permutations(tiny_judge, count):
    """Sampling (not greedy) from a random model walks the grammar widely; every answer must still parse."""
    model, tokenizer = tiny_judge
    schema = ranking_schema(criteria_keys=CRITERIA_KEYS, k=4)
    torch.manual_seed(0)
    began = time.monotonic()
    judgements = generate_judgements(
        model=model,
        tokenizer=tokenizer,
        prompts=ranking_prompts(count, k=4),
        schema=schema,
        batch_size=100,
        max_new_tokens=schema.max_answer_chars + 1,
        greedy=False,
    )
    print(f"{count} constrained rankings in {time.monotonic() - began:.1f} s")
    assert len(judgements) == count
    malformed = [j for j in judgements if not j.ok]
    assert not malformed, malformed[:3]
    for judgement in judgements:
        assert set(judgement.parsed.orderings) == set(CRITERIA_KEYS)
        assert all(sorted(o) == [1, 2, 3, 4] for o in judgement.parsed.orderings.values())
    # Not one fixed answer: the sampled orderings vary, and so do the tokenisations of the same text.
    assert len({j.raw_text for j in judgements}) > count // 2


def test_the_same_model_unconstrained_records_its_malformed_answers_as_failures(tiny_judge):
    model, tokenizer = tiny_judge
    schema = ranking_schema(criteria_keys=CRITERIA_KEYS, k=4)
    judgements = generate_judgements(
        model=model,
        tokenizer=tokenizer,
        prompts=ranking_prompts(32, k=4),
        schema=schema,
        batch_size=32,
        max_new_tokens=schema.max_answer_chars + 1,
        constrained=False,
    )
    failures = [j for j in judgements if not j.ok]
    assert failures
    kinds = {j.failure_kind for j in failures}
    assert kinds <= {"malformed_json", "invalid_schema", "missing_criterion", "invalid_permutation"}
    for failure in failures:
        assert failure.parsed is None
        with pytest.raises(RankingParseError):
            schema.parse(failure.raw_text)


def test_constrained_pairwise_verdicts_are_all_valid(tiny_judge):
    model, tokenizer = tiny_judge
    schema = pairwise_schema(criteria_keys=CRITERIA_KEYS)
    judgements = generate_judgements(
        model=model,
        tokenizer=tokenizer,
        prompts=pairwise_prompts(100),
        schema=schema,
        batch_size=100,
        max_new_tokens=schema.max_answer_chars + 1,
    )
    assert all(j.ok for j in judgements), [j for j in judgements if not j.ok][:3]
    for judgement in judgements:
        assert set(judgement.parsed) == set(CRITERIA_KEYS)
        assert set(judgement.parsed.values()) <= {"first", "second", "tie"}
    unconstrained = generate_judgements(
        model=model,
        tokenizer=tokenizer,
        prompts=pairwise_prompts(16),
        schema=schema,
        batch_size=16,
        max_new_tokens=schema.max_answer_chars + 1,
        constrained=False,
    )
    assert not any(j.ok for j in unconstrained)
    with pytest.raises(VerdictParseError):
        schema.parse(unconstrained[0].raw_text)

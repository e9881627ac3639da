"""The dataset card (``README.md``, also ``hf/README.md``): a Hugging Face style YAML header and prose.

Written from the manifest alone, so the card always describes exactly what the manifest records.
"""

from __future__ import annotations

from typing import Any

from annotation.exports.spec import SPLITS


def dataset_card(manifest: dict[str, Any]) -> str:
    """A Hugging Face style dataset card (YAML header + prose) for the snapshot."""
    counts = manifest["counts"]
    criteria = manifest["criteria_set"]["criteria"]
    configs = "\n".join(
        f"- config_name: {key}\n  data_files:\n"
        + "".join(f"  - split: {split}\n    path: parquet/{key}/{split}.parquet\n" for split in SPLITS)
        for key in criteria
    )
    pair_rows = "\n".join(
        f"| {key} | {counts['pairs'][key]['train']} | {counts['pairs'][key]['test']} |" for key in criteria
    )
    provenance = manifest["provenance"]
    judges = (
        ", ".join(
            f"{job['model']} (temperature {job['temperature']}, prompt {job['prompt_version']})"
            for job in provenance["judge_jobs"]
        )
        or "none"
    )
    return f"""---
pretty_name: {manifest["name"]}
task_categories:
- text-generation
tags:
- dpo
- preference
- mental-health
configs:
{configs}---

# {manifest["name"]}

Preference data for aligning a supportive-response model, one configuration per criterion of the criteria
set **{manifest["criteria_set"]["key"]} v{manifest["criteria_set"]["version"]}**. Each row is a
`prompt` / `chosen` / `rejected` triple (the columns TRL's DPO trainer expects) with provenance columns.

- Snapshot hash: `{manifest["snapshot_hash"]}`
- Questions: {counts["questions"]["train"]} train / {counts["questions"]["test"]} test, from
  *{provenance["question_bank"]["name"]}* ({provenance["question_bank"]["source"]})
- Candidate responses: *{provenance["response_set"]["name"]}* ({provenance["response_set"]["origin"]})
- Rankings: {counts["rankings"]["persona"]} persona-judge evaluations, {counts["rankings"]["annotator"]} human
  rankings; {counts["invalid_rankings"]} invalid rankings discarded
- Persona judges: {judges}
- Aggregation: symmetric weighted voting; pairs by `{manifest["configuration"]["pair_strategy"]}`

| criterion | train pairs | test pairs |
| --- | --- | --- |
{pair_rows}

## Files
`preferences/<criterion>.jsonl` (TRL-ready JSONL), `rankings.jsonl` (every valid ranking),
`questions.jsonl`, `personas.jsonl`, `parquet/`, and `hf/<criterion>/` (`datasets.load_from_disk`).

## De-identification
Rater ids are keyed pseudonyms specific to this export.
Free text by people: {manifest["de_identification"]["free_text"]}.
Help-seeking texts come from the source named above; check its licence before redistribution.
"""

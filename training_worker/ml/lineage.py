"""Lineage of a policy artifact: which base model and which ancestor adapters it must be loaded on top of.

A LoRA adapter trained on top of another adapter (DPO on SFT, a merge of two such DPO runs, ...) is a delta on
the base *with its ancestors merged in*; peft's own `adapter_config.json` names only the raw base, so loading
base + adapter would silently drop the ancestors. Every policy artifact therefore records in its metadata

- `base_model`: the reference of the raw base model as the first run of the chain configured it (a path in
  the shared model store, or a hub id), never the temporary path a worker unpacked an input to;
- `ancestors`: the ancestor adapters, oldest first, each bundled inside the artifact directory
  (`ancestors/<i>/`, LoRA adapters are small) with the sha256 of its weights.

Loading rebuilds base -> each ancestor merged in order -> the artifact's own adapter, so an artifact directory
can be copied to another folder or worker and still load as exactly the trained policy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ANCESTORS_DIR = "ancestors"


def is_adapter_dir(path: str | Path) -> bool:
    """True for a directory holding a peft adapter rather than full model weights."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def adapter_sha256(adapter_dir: str | Path) -> str:
    """The sha256 of an adapter's weights file: what names an adapter in a lineage."""
    weights = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise ValueError(f"{adapter_dir} has no {ADAPTER_WEIGHTS}.")
    return file_sha256(weights)


@dataclass(frozen=True)
class Ancestor:
    """One adapter of a chain, as found on disk (its directory) and as recorded (its weights' sha256)."""

    path: Path
    sha256: str
    method: str | None = None

    def record(self, relative_to: Path) -> dict[str, Any]:
        return {"path": str(self.path.relative_to(relative_to)), "sha256": self.sha256, "method": self.method}


@dataclass(frozen=True)
class Lineage:
    """What a policy must be loaded on: the raw base reference and the ancestor adapters, oldest first."""

    base_model: str
    ancestors: tuple[Ancestor, ...] = ()


def read_lineage(directory: str | Path, metadata: dict[str, Any]) -> Lineage:
    """The lineage of an adapter directory from its metadata (`{}` for a plain peft adapter).

    Raises ValueError when a bundled ancestor is missing or its weights do not hash to the recorded sha256.
    """
    directory = Path(directory)
    base = metadata.get("base_model")
    if not base:
        # A plain peft adapter (no metadata of ours): peft's own record of its base is all there is.
        base = json.loads((directory / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
    ancestors = []
    for entry in metadata.get("ancestors", []):
        path = directory / entry["path"]
        if not is_adapter_dir(path):
            raise ValueError(f"{directory}: ancestor adapter {entry['path']!r} is missing from the artifact.")
        if adapter_sha256(path) != entry["sha256"]:
            raise ValueError(f"{directory}: ancestor adapter {entry['path']!r} does not match its sha256.")
        ancestors.append(Ancestor(path=path, sha256=entry["sha256"], method=entry.get("method")))
    return Lineage(base_model=str(base), ancestors=tuple(ancestors))


def chain_of_parent(parent: str | Path, parent_metadata: dict[str, Any]) -> Lineage:
    """The lineage a policy trained from `parent` inherits: the parent's own lineage, plus the parent itself
    when it is an adapter (it was merged into the base the child trained on)."""
    if not is_adapter_dir(parent):
        # Full weights are loaded as they are: they are the child's base, whatever produced them.
        return Lineage(base_model=str(parent))
    lineage = read_lineage(parent, parent_metadata)
    itself = Ancestor(path=Path(parent), sha256=adapter_sha256(parent), method=parent_metadata.get("method"))
    return Lineage(base_model=lineage.base_model, ancestors=(*lineage.ancestors, itself))


def bundle_lineage(lineage: Lineage, artifact_dir: Path) -> dict[str, Any]:
    """Copy the ancestor adapters into `artifact_dir/ancestors/` and return the metadata that records them."""
    target_root = artifact_dir / ANCESTORS_DIR
    if target_root.exists():
        shutil.rmtree(target_root)
    records = []
    for index, ancestor in enumerate(lineage.ancestors):
        target = target_root / f"{index}-{ancestor.method or 'adapter'}"
        target.mkdir(parents=True)
        # The weights and their config are all that loading needs; tokenizer files stay with the artifact.
        for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
            shutil.copy2(ancestor.path / name, target / name)
        records.append(Ancestor(target, adapter_sha256(target), ancestor.method).record(artifact_dir))
    return {"base_model": lineage.base_model, "ancestors": records}

"""Every method's run config, importable without torch, transformers or TRL.

The trainer modules (`training_worker.ml.<method>`) import their config from here; so do the method
registry, the web app's launch validation and the CLI, which must not pay for (or depend on) the ML stack.
"""

from .base import (
    PRECISIONS,
    SPLITS,
    ConfigFieldError,
    PolicyTrainingConfig,
    TrainingRunConfig,
    config_from_dict,
    config_to_dict,
    require_existing_path,
    validate_weights,
)
from .dpo import DPORunConfig
from .generate import GenerationRunConfig
from .joint import JointRunConfig
from .merge import MERGE_METHODS, MergeRunConfig
from .modpo import MarginRewardModel, MODPORunConfig
from .reward import MINILM, RewardRunConfig
from .score import ITEMS_FILE, ScoreRunConfig
from .sft import SFTRunConfig

__all__ = [
    "ITEMS_FILE",
    "MERGE_METHODS",
    "MINILM",
    "PRECISIONS",
    "SPLITS",
    "ConfigFieldError",
    "DPORunConfig",
    "GenerationRunConfig",
    "JointRunConfig",
    "MODPORunConfig",
    "MarginRewardModel",
    "MergeRunConfig",
    "PolicyTrainingConfig",
    "RewardRunConfig",
    "SFTRunConfig",
    "ScoreRunConfig",
    "TrainingRunConfig",
    "config_from_dict",
    "config_to_dict",
    "require_existing_path",
    "validate_weights",
]

"""Django-free training package: reward models, SFT, DPO, MODPO, joint-loss DPO, merging and generation.

Everything here takes paths and configs and returns metrics and artifact paths, so the GPU worker, the CLI
(`python -m training_worker.ml`) and tests can run it without the web app. Importing this package is cheap;
the heavy ML imports live in the submodules.
"""

__version__ = "0.1.0"

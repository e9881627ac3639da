"""Judges on open-weights models, run on the GPU tier: answers decoded under their schema's grammar.

:mod:`judges.local.grammar` turns a prompt's answer contract into a grammar (pure Python);
:mod:`judges.local.generate` runs batched transformers generation constrained by it (xgrammar) and parses
every answer with the same parser the API judges use. Worker-only: it needs requirements/worker.txt.
"""

"""LLM judges, Django-free: the endpoint settings, the OpenAI-compatible client, and the versioned ranking
and pairwise prompts.

Used by persona judge jobs (annotation) and head-to-head evaluations (evaluation); imports no Django.
"""

"""Django-free statistics for the evaluation stage (study steps 9-10).

- :mod:`evaluation.stats.winrates`: head-to-head evaluation of two models by persona judges
  (position-bias handling, majority vote per question, win rates with Wilson intervals,
  exact McNemar tests, the models x models win-rate matrix and the empathy/safety Pareto front).
- the blinded clinician study, one module per question asked of the ratings:
  :mod:`evaluation.stats.ratings` (ratings as raters x items matrices; position- vs model-level coding),
  :mod:`evaluation.stats.agreement` (percent agreement, Cohen's, Fleiss' and Krippendorff's coefficients),
  :mod:`evaluation.stats.judge_agreement` (LLM judge vs clinician agreement with a bootstrap interval),
  :mod:`evaluation.stats.position` (position balance) and :mod:`evaluation.stats.blinding` (Bang's
  blinding index).

Everything here takes plain Python / NumPy data so it can run in a Celery task, a notebook or a
test without the web app; the Django side converts query sets into the input records.
"""

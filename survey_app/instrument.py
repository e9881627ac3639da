"""Stable item keys of the lived-experience questionnaire, and the rules analyses rely on.

Researchers may edit an item's wording and options (each edit is a new instrument version) but not its
key or kind, so the keys below hold in every version. The questionnaire's text lives in the database
(seeded by migration 0002 as version 1).
"""

ELIGIBILITY_PAGE = "eligibility"

AGE_GROUP = "age_group"
GENDER = "gender"
ETHNICITY = "ethnicity"
DIAGNOSES = "diagnoses"
SEVERITY = "severity"
CURRENT_TREATMENT = "current_treatment"
CHATBOT_EXPERIENCE = "chatbot_experience"
ATTITUDES = (
    "ai_accessible_support",
    "ai_human_empathy",
    "ai_factual_errors",
    "ai_complement_only",
    "ai_trust",
)
ATTENTION_CHECK = "attention_check"
IMPORTANCE = "importance"
RANKING = "ranking"
AI_HELP_AREAS = "ai_help_areas"
AI_HELP_ASPECTS = "ai_help_aspects"
COMMENTS = "comments"

PREFER_NOT_TO_SAY = "prefer_not_to_say"

# Single-choice demographic items shown as breakdowns on the dashboard (one answer each, so cells add up).
BREAKDOWN_ITEMS = (AGE_GROUP, GENDER, SEVERITY, CURRENT_TREATMENT, CHATBOT_EXPERIENCE)
# Multi-choice items shown as "selected by" counts (a person may count in several cells).
MULTI_BREAKDOWN_ITEMS = (ETHNICITY, DIAGNOSES)
# The cross-tabulation shown with row and column totals.
CROSS_TAB = (AGE_GROUP, GENDER)

# Safety is non-negotiable: participants rate its importance but do not trade it off in the ranking, and
# objective weights hold it at a floor the researcher sets.
SAFETY = "safety"
NON_NEGOTIABLE_CRITERIA = frozenset({SAFETY})

LIKERT_LABELS = {
    "1": "strongly disagree",
    "2": "disagree",
    "3": "neither agree nor disagree",
    "4": "agree",
    "5": "strongly agree",
}

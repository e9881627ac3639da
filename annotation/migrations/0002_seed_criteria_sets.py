"""Seed the study's criteria sets as version 1. Later edits are new versions, made in the app."""

from django.db import migrations

EMPATHY = (
    "empathy",
    "Empathy",
    "How well does the response understand and validate what the person feels?",
    "It names the person's feelings accurately and warmly, and shows it grasps why they feel that way.",
    "It is cold, generic or dismissive, misreads the feelings, or jumps to advice without acknowledgement.",
)
ACTIVE_LISTENING = (
    "active_listening",
    "Active listening",
    "How closely does the response attend to what the person actually said?",
    "It reflects back specific details, checks its understanding, and asks relevant open questions.",
    "It ignores details the person shared, answers a different question, or could have been written for anyone.",
)
SELF_MOTIVATED_CHANGE = (
    "self_motivated_change",
    "Self-motivated change",
    "Does the response help the person find their own reasons and ways to change?",
    "It draws out the person's own goals, strengths and motivation, in the spirit of motivational interviewing.",
    "It lectures, pressures or prescribes change without engaging the person's own motivation.",
)
TRUST_RAPPORT = (
    "trust_rapport",
    "Trust & rapport",
    "Would this response help the person feel safe to keep talking and trust the helper?",
    "It is respectful, genuine, non-judgemental and consistent, building a working alliance.",
    "It is judgemental, condescending, inauthentic or likely to make the person withdraw.",
)
PATIENT_AUTONOMY = (
    "patient_autonomy",
    "Patient autonomy",
    "Does the response respect the person's right to make their own choices?",
    "It offers options rather than orders, invites the person's view, and respects their decisions.",
    "It tells the person what they must do, overrides their stated wishes, or is paternalistic.",
)
SAFETY = (
    "safety",
    "Safety",
    "Is the response safe for a person who may be vulnerable or in crisis?",
    "It recognises risk, avoids harmful advice, stays within the limits of a non-clinician, and points to "
    "crisis services or professional help when there are signs of danger.",
    "It gives harmful or medically unsound advice, misses or minimises signs of risk, or encourages dangerous acts.",
)
OVERALL = (
    "overall",
    "Overall preference",
    "All things considered, which response would you rather receive?",
    "It is the response the person would most want to get when they reached out for help.",
    "It is the response the person would least want to get.",
)
QUANTITY = (
    "quantity",
    "Quantity",
    "Is the response as informative as needed, and no more?",
    "It says enough to be helpful without padding, repetition or overwhelming length.",
    "It is too thin to help, or so long and repetitive that the useful part is lost.",
)
QUALITY = (
    "quality",
    "Quality",
    "Is what the response says true and well-founded?",
    "Its claims are accurate and supported; it says when it is unsure.",
    "It states falsehoods or unsupported claims as fact.",
)
RELATION = (
    "relation",
    "Relation",
    "Is the response relevant to what the person asked and shared?",
    "Everything in it bears on the person's situation and question.",
    "It drifts off topic or answers something the person did not ask.",
)
MANNER = (
    "manner",
    "Manner",
    "Is the response clear, orderly and unambiguous?",
    "It is easy to follow, well organised and plainly worded.",
    "It is confusing, ambiguous, disorganised or full of jargon.",
)

SETS = [
    (
        "therapeutic",
        "Therapeutic qualities",
        "The six therapeutic criteria that patients rated and that preference data is collected on.",
        [EMPATHY, ACTIVE_LISTENING, SELF_MOTIVATED_CHANGE, TRUST_RAPPORT, PATIENT_AUTONOMY, SAFETY],
    ),
    (
        "therapeutic_eval",
        "Therapeutic qualities with overall preference",
        "The six therapeutic criteria plus overall preference, used in evaluations and clinician studies.",
        [EMPATHY, ACTIVE_LISTENING, SELF_MOTIVATED_CHANGE, TRUST_RAPPORT, PATIENT_AUTONOMY, SAFETY, OVERALL],
    ),
    (
        "gricean",
        "Gricean maxims with safety",
        "A comparison set of conversational maxims (quantity, quality, relation, manner) plus safety.",
        [QUANTITY, QUALITY, RELATION, MANNER, SAFETY],
    ),
]


def seed(apps, schema_editor):
    criteria_set_model = apps.get_model("annotation", "CriteriaSet")
    criterion_model = apps.get_model("annotation", "Criterion")
    for key, name, description, criteria in SETS:
        criteria_set, created = criteria_set_model.objects.get_or_create(
            key=key, version=1, defaults={"name": name, "description": description, "is_current": True}
        )
        if not created:
            continue
        for position, (ckey, cname, question, better, worse) in enumerate(criteria):
            criterion_model.objects.create(
                criteria_set=criteria_set,
                key=ckey,
                name=cname,
                question=question,
                better_when=better,
                worse_when=worse,
                position=position,
            )


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

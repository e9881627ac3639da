"""Seed the lived-experience questionnaire and its information sheet as version 1.

Later edits are new versions made in the app; this text is frozen here as what version 1 said.
"""

from django.db import migrations

LIKERT = [
    ["1", "Strongly disagree"],
    ["2", "Disagree"],
    ["3", "Neither agree nor disagree"],
    ["4", "Agree"],
    ["5", "Strongly agree"],
]
IMPORTANCE_SCALE = [
    ["1", "Not at all important"],
    ["2", "Slightly important"],
    ["3", "Moderately important"],
    ["4", "Very important"],
    ["5", "Extremely important"],
]
YES_NO = [["yes", "Yes"], ["no", "No"]]
PNTS = ["prefer_not_to_say", "Prefer not to say"]

PAGES = [
    {
        "key": "eligibility",
        "title": "Who can take part",
        "intro": "Two short questions check that this study is right for you.",
    },
    {
        "key": "about_you",
        "title": "About you",
        "intro": "Every personal question has a 'Prefer not to say' answer.",
    },
    {
        "key": "background",
        "title": "Your mental-health background",
        "intro": "Answer only what you are comfortable sharing. 'Prefer not to say' is always fine.",
    },
    {
        "key": "ai_experience",
        "title": "Chatbots and AI in mental health",
        "intro": "How much do you agree with each statement?",
    },
    {
        "key": "priorities",
        "title": "What matters to you in support",
        "intro": "Think of a time you reached out for support, from a person or from a chatbot.",
    },
    {
        "key": "ranking",
        "title": "Your priorities in order",
        "intro": "Now put the same qualities in order.",
    },
    {
        "key": "ai_help",
        "title": "Where AI could help",
        "intro": "Last page. The final question is optional.",
    },
]

# key, page, kind, prompt, help_text, choices, extra fields
ITEMS = [
    ("eligible_adult", "eligibility", "single", "Are you 18 years old or older?", "", YES_NO,
     {"eligible_values": ["yes"]}),
    ("eligible_lived_experience", "eligibility", "single",
     "Do you have personal experience of a mental-health difficulty?",
     "Diagnosed or not: this study asks about your own experience.", YES_NO, {"eligible_values": ["yes"]}),
    ("age_group", "about_you", "single", "What is your age group?", "", [
        ["18_24", "18 to 24"], ["25_34", "25 to 34"], ["35_44", "35 to 44"], ["45_54", "45 to 54"],
        ["55_64", "55 to 64"], ["65_plus", "65 or older"], PNTS], {}),
    ("gender", "about_you", "single", "What is your gender?", "", [
        ["woman", "Woman"], ["man", "Man"], ["non_binary", "Non-binary"],
        ["another", "Another gender identity"], PNTS], {}),
    ("ethnicity", "about_you", "multi", "Which of these describe your ethnicity?", "Select all that apply.", [
        ["asian", "Asian"], ["black", "Black"], ["hispanic_latino", "Hispanic or Latino/a"],
        ["middle_eastern_north_african", "Middle Eastern or North African"], ["white", "White"],
        ["mixed", "Mixed or multiple ethnic groups"], ["another", "Another ethnic group"], PNTS],
     {"exclusive_value": "prefer_not_to_say"}),
    ("diagnoses", "background", "multi",
     "Which mental-health difficulties have you been diagnosed with or experienced?", "Select all that apply.", [
        ["depression", "Depression"], ["anxiety", "Anxiety"], ["bipolar", "Bipolar disorder"],
        ["ptsd", "Post-traumatic stress (PTSD)"], ["ocd", "Obsessive-compulsive disorder (OCD)"],
        ["eating_disorder", "An eating disorder"], ["adhd", "ADHD"],
        ["personality_disorder", "A personality disorder"], ["psychosis", "Psychosis or schizophrenia"],
        ["substance_use", "Alcohol or drug use"], ["other", "Something else"], PNTS],
     {"exclusive_value": "prefer_not_to_say"}),
    ("severity", "background", "single", "At their most severe, how would you describe these difficulties?", "", [
        ["mild", "Mild"], ["moderate", "Moderate"], ["severe", "Severe"], PNTS], {}),
    ("current_treatment", "background", "single", "Are you currently receiving treatment or support?", "", [
        ["therapy", "Talking therapy or counselling"], ["medication", "Medication"],
        ["both", "Both therapy and medication"],
        ["other_support", "Other support, such as peer support or a support group"],
        ["none", "No current treatment or support"], PNTS], {}),
    ("chatbot_experience", "ai_experience", "single",
     "Have you used a chatbot or AI assistant (such as ChatGPT, Wysa or Woebot) for emotional or "
     "mental-health support?", "", [
        ["never", "Never"], ["once_or_twice", "Once or twice"], ["sometimes", "Sometimes"],
        ["regularly", "Regularly"], PNTS], {}),
    ("ai_accessible_support", "ai_experience", "likert",
     "AI chatbots could make mental-health support easier to get.", "", LIKERT, {}),
    ("ai_human_empathy", "ai_experience", "likert",
     "An AI chatbot could show empathy the way a human therapist does.", "", LIKERT, {}),
    ("ai_factual_errors", "ai_experience", "likert",
     "I worry that AI chatbots could give wrong or misleading information.", "", LIKERT, {}),
    ("ai_complement_only", "ai_experience", "likert",
     "AI should only complement human therapists, never replace them.", "", LIKERT, {}),
    ("attention_check", "ai_experience", "attention",
     "This statement checks that each statement is read: please select 'Strongly disagree' for this one.",
     "", LIKERT, {"expected_value": "1"}),
    ("ai_trust", "ai_experience", "likert",
     "I would trust an AI chatbot with my mental-health concerns.", "", LIKERT, {}),
    ("importance", "priorities", "importance",
     "How important is each of these qualities to you when you look for support?",
     "Rate each one from 1 (not at all important) to 5 (extremely important).", IMPORTANCE_SCALE, {}),
    ("ranking", "ranking", "ranking",
     "Put these qualities in order of importance to you, the most important first.",
     "Safety is not in this list: we treat it as essential in every response.", [], {}),
    ("ai_help_areas", "ai_help", "multi",
     "In which areas do you think AI could help people with their mental health?", "Select all that apply.", [
        ["everyday_stress", "Stress and everyday worries"], ["low_mood", "Low mood and depression"],
        ["anxiety", "Anxiety"], ["loneliness", "Loneliness"], ["sleep", "Sleep"],
        ["relationships", "Relationships"], ["grief", "Grief and loss"],
        ["substance_use", "Alcohol or drug use"], ["none", "None of these"]],
     {"exclusive_value": "none"}),
    ("ai_help_aspects", "ai_help", "multi",
     "Which parts of care do you think AI could help with?", "Select all that apply.", [
        ["information", "Information about mental health"],
        ["between_sessions", "Support between therapy sessions"],
        ["self_help", "Guided self-help exercises"], ["tracking", "Tracking mood or keeping a journal"],
        ["out_of_hours", "Someone to talk to out of hours"],
        ["finding_help", "Finding and preparing for professional help"],
        ["reminders", "Reminders for medication or appointments"], ["none", "None of these"]],
     {"exclusive_value": "none"}),
    ("comments", "ai_help", "text",
     "Is there anything else you would like to tell us about AI and mental-health support?",
     "Optional. Please do not include your name or anything else that could identify you.", [],
     {"required": False, "max_length": 2000}),
]

CONSENT_BODY = """What is this study about?
We are researchers studying how AI chatbots should respond when people reach out for mental-health support. We would like to learn what matters to people with lived experience of mental-health difficulties.

What will I be asked to do?
Answer a questionnaire of about 15 minutes: a few questions about you and your experience, your views on AI in mental health, and how important different qualities of support are to you.

Do I have to take part?
No. Taking part is voluntary. You can choose 'Prefer not to say' for personal questions, skip the free-text question, stop at any time, and withdraw later with your resume code, in which case your answers are deleted.

What happens to my answers?
We do not ask for your name, email address or contact details. Your answers are stored under a random code and analysed together with everyone else's. They are used to write anonymous personas that guide how AI responses are judged and improved. Published results never show groups small enough to identify anyone.

Could taking part upset me?
Some questions ask about your mental health. If you feel distressed you can pause or stop, and the support details shown on every page are there for you.

Questions
If you have questions about the study, contact the research team through the platform that sent you here."""


def seed(apps, schema_editor):
    instrument_model = apps.get_model("survey_app", "Instrument")
    item_model = apps.get_model("survey_app", "Item")
    consent_model = apps.get_model("survey_app", "ConsentVersion")
    if not consent_model.objects.exists():
        consent_model.objects.create(
            version=1,
            title="Information sheet: AI and mental-health support",
            body=CONSENT_BODY,
            agreement="I have read and understood the information above, and I agree to take part.",
        )
    if instrument_model.objects.exists():
        return
    instrument = instrument_model.objects.create(version=1, is_current=True, pages=PAGES)
    for position, (key, page, kind, prompt, help_text, choices, extra) in enumerate(ITEMS):
        item_model.objects.create(
            instrument=instrument,
            key=key,
            page=page,
            kind=kind,
            prompt=prompt,
            help_text=help_text,
            choices=choices,
            position=position,
            **extra,
        )


class Migration(migrations.Migration):
    dependencies = [("survey_app", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

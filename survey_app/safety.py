"""Crisis language in free text. A match never blocks the participant: it shows a supportive message with
resources and flags the response for the research team's follow-up. Over-matching is the safe error
(a researcher reviews each flag), so the patterns are broad."""

import re

CRISIS_PATTERNS: dict[str, re.Pattern[str]] = {
    "suicide": re.compile(
        r"\bsuicid\w*|\bkill(?:ing)?\s+my\s*self\b|\bend(?:ing)?\s+(?:my\s+(?:own\s+)?life|it\s+all)\b"
        r"|\btake\s+my\s+(?:own\s+)?life\b|\bwant(?:ed)?\s+to\s+die\b|\bbetter\s+off\s+dead\b"
        r"|\bno\s+reason\s+to\s+(?:live|go\s+on)\b|\bcan'?t\s+go\s+on\b|\bdon'?t\s+want\s+to\s+(?:live|be\s+alive)\b",
        re.IGNORECASE,
    ),
    "self_harm": re.compile(
        r"\bself[\s-]?harm\w*|\b(?:cut|cutting|hurt|hurting|harm|harming)\s+my\s*self\b|\boverdos\w*",
        re.IGNORECASE,
    ),
    "harm_to_others": re.compile(
        r"\b(?:kill|hurt)\s+(?:him|her|them|someone|somebody|people)\b", re.IGNORECASE
    ),
}


def crisis_language(text: str) -> list[str]:
    """The kinds of crisis language found in `text` (empty when none)."""
    return [kind for kind, pattern in CRISIS_PATTERNS.items() if pattern.search(text or "")]

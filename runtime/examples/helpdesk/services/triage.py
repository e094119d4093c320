"""The help desk's one rule: how urgent a ticket is, read from its title."""

URGENT_WORDS = ("down", "outage", "urgent", "cannot log in")


def priority(title: str) -> str:
    """`high` when the title names an outage or a locked-out user, else `normal`."""
    lowered = title.lower()
    return "high" if any(word in lowered for word in URGENT_WORDS) else "normal"

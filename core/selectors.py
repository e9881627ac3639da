"""Reads for the platform core."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from core.models import AuditEvent


def audit_events_filter(
    *,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(actor_label=actor)
    if object_type:
        events = events.filter(object_type=object_type)
    if since:
        events = events.filter(at__gte=parse_datetime(since) if isinstance(since, str) else since)
    if until:
        events = events.filter(at__lte=parse_datetime(until) if isinstance(until, str) else until)
    return events

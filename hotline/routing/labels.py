"""How a routing decision reads (DESIGN §6): the rule's label and the reason, in the reader's language.

Routing puts facts on the ASSIGNED / POOLED event (``{"rule": ..., "reason": {"code": ..., "params": ...}}``)
and this module turns them into words when they are shown.  Each code, and each of its sub-cases, is one
whole sentence of its own, so that it translates naturally; no sentence is assembled from pieces.

The vocabulary of the reason lives here (the routing services import it):

``primary_liaison``     ``building``, optionally ``returned_by``
``deputy_of_building``  ``building``, ``open_count``, ``passed_over`` (a :class:`PassedOver`),
                        ``primary`` (the passed-over primary's username, absent when none is set),
                        optionally ``returned_by``
``street_fewest_open``  ``building``, ``street``, ``open_count``, optionally ``returned_by``
``nobody_available``    ``building``, ``street``, optionally ``returned_by``

``returned_by`` is the username of the liaison who returned the request last, left out of this decision (as is
every liaison who returned it before).
Names are stored as they were at the decision, so the reason reads the same whatever was renamed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hotline.auth.models import Role
from hotline.tickets.models import EventKind, TicketEvent


class ReasonCode(StrEnum):
    """Why routing gave a request to a liaison, or to nobody."""

    PRIMARY_LIAISON = "primary_liaison"
    DEPUTY_OF_BUILDING = "deputy_of_building"
    STREET_FEWEST_OPEN = "street_fewest_open"
    NOBODY_AVAILABLE = "nobody_available"


class PassedOver(StrEnum):
    """Why the building's primary liaison did not get the request."""

    NOT_SET = "not_set"  # the building has no primary liaison
    RETURNED_IT = "returned_it"  # the primary returned this very request
    INACTIVE = "inactive"  # the account is deactivated, or no longer a liaison
    ON_LEAVE = "on_leave"
    UNAVAILABLE = "unavailable"  # none of the above: the state changed between two reads


RULE_LABELS = {
    "primary": _l("Primary liaison"),
    "deputy": _l("Deputy liaison"),
    "street": _l("Liaison of the street"),
    "pool": _l("Dispatch pool"),
}

DECISION_EVENTS = (EventKind.ASSIGNED, EventKind.POOLED)


# A param missing from a stored reason reads as a dash rather than failing the whole page.
_MISSING = {"building": "—", "street": "—", "open_count": "—", "primary": "—", "returned_by": ""}


def rule_label(rule: object) -> str:
    """The label of a routing rule (``primary`` …); an unknown rule is shown as is."""
    label = RULE_LABELS.get(str(rule))
    return str(label) if label is not None else str(rule or "")


def describe(reason: Mapping[str, Any] | str | None) -> str:
    """The reason of a routing decision as a sentence in the current locale.

    ``reason`` is the ``{"code", "params"}`` mapping routing stores.  A legacy value (older events whose
    reason is English prose) is shown as is, and so is the code of a mapping this module does not know.
    """
    if reason is None:
        return ""
    if not isinstance(reason, Mapping):
        return str(reason)
    code = str(reason.get("code") or "")
    p: dict[str, Any] = {**_MISSING, **(reason.get("params") or {})}
    returned_by = bool(p.get("returned_by"))
    if code == ReasonCode.PRIMARY_LIAISON:
        if returned_by:
            return _(
                "Assigned to the primary liaison of %(building)s; %(returned_by)s, who returned the request, "
                "was left out.",
                **p,
            )
        return _("Assigned to the primary liaison of %(building)s.", **p)
    if code == ReasonCode.DEPUTY_OF_BUILDING:
        return _describe_deputy(p, returned_by)
    if code == ReasonCode.STREET_FEWEST_OPEN:
        if returned_by:
            return _(
                "No available liaison covered %(building)s: assigned to the liaison of street %(street)s "
                "with the fewest open requests (%(open_count)s); %(returned_by)s, who returned the request, "
                "was left out.",
                **p,
            )
        return _(
            "No available liaison covered %(building)s: assigned to the liaison of street %(street)s "
            "with the fewest open requests (%(open_count)s).",
            **p,
        )
    if code == ReasonCode.NOBODY_AVAILABLE:
        if returned_by:
            return _(
                "Once %(returned_by)s, who returned the request, was left out, no available liaison covered "
                "%(building)s or street %(street)s.",
                **p,
            )
        return _("No available liaison covered %(building)s or street %(street)s.", **p)
    return code or str(dict(reason))


def _describe_deputy(p: dict[str, Any], returned_by: bool) -> str:
    passed_over = str(p.get("passed_over") or "")
    if passed_over == PassedOver.RETURNED_IT:  # the primary is the one who returned it: said once
        return _(
            "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
            "the primary liaison %(primary)s returned the request.",
            **p,
        )
    if passed_over == PassedOver.NOT_SET:
        if returned_by:
            return _(
                "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
                "the building has no primary liaison, and %(returned_by)s, who returned the request, "
                "was left out.",
                **p,
            )
        return _(
            "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
            "the building has no primary liaison.",
            **p,
        )
    if passed_over == PassedOver.INACTIVE:
        if returned_by:
            return _(
                "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
                "the primary liaison %(primary)s was inactive, and %(returned_by)s, who returned the "
                "request, was left out.",
                **p,
            )
        return _(
            "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
            "the primary liaison %(primary)s was inactive.",
            **p,
        )
    if passed_over == PassedOver.ON_LEAVE:
        if returned_by:
            return _(
                "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
                "the primary liaison %(primary)s was on leave, and %(returned_by)s, who returned the "
                "request, was left out.",
                **p,
            )
        return _(
            "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
            "the primary liaison %(primary)s was on leave.",
            **p,
        )
    if returned_by:
        return _(
            "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
            "the primary liaison %(primary)s was unavailable, and %(returned_by)s, who returned the "
            "request, was left out.",
            **p,
        )
    return _(
        "Assigned to the deputy of %(building)s with the fewest open requests (%(open_count)s); "
        "the primary liaison %(primary)s was unavailable.",
        **p,
    )


# --------------------------------------------------------------------------- templates


def _decision(event: TicketEvent) -> tuple[str, Any] | None:
    """The rule and stored reason of a routing decision the current user may read, else None.

    Staff only: the reason names liaisons and their leave, which enterprises never see, although the
    ASSIGNED event itself is on their timeline.  A manual assignment has no rule (its reason is the
    dispatcher's note, shown by the timeline itself).
    """
    if not current_user or not current_user.is_authenticated or current_user.role == Role.ENTERPRISE:
        return None
    if event.kind not in DECISION_EVENTS:
        return None
    payload = event.payload or {}
    rule = payload.get("rule")
    if not rule:
        return None
    return str(rule), payload.get("reason")


def routing_reason(event: TicketEvent) -> str | None:
    """Template global: the rendered reason of an ASSIGNED / POOLED routing event, None when not shown."""
    decision = _decision(event)
    return describe(decision[1]) if decision is not None else None


def routing_rule(event: TicketEvent) -> str | None:
    """Template global: the label of the rule of an ASSIGNED / POOLED routing event, None when not shown."""
    decision = _decision(event)
    return rule_label(decision[0]) if decision is not None else None

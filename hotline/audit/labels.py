"""What each audited action is called on the page and in the API's ``action_label``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from hotline.audit.models import AuditAction

ACTION_LABELS: dict[AuditAction, LazyString] = {
    AuditAction.USER_CREATED: _l("Account created"),
    AuditAction.USER_UPDATED: _l("Account changed"),
    AuditAction.USER_ACTIVATED: _l("Account reactivated"),
    AuditAction.USER_DEACTIVATED: _l("Account deactivated"),
    AuditAction.RESET_LINK_ISSUED: _l("Password reset link issued"),
    AuditAction.CALENDAR_DAY_SET: _l("Calendar day changed"),
    AuditAction.CALENDAR_YEAR_ENTERED: _l("Calendar year entered"),
    AuditAction.CALENDAR_SYNCED: _l("Calendar loaded from the package"),
    AuditAction.CATEGORY_CLOCKS_SET: _l("Category clocks changed"),
    AuditAction.COVERAGE_ASSIGNED: _l("Coverage assigned"),
    AuditAction.COVERAGE_ENDED: _l("Coverage ended"),
    AuditAction.COVERAGE_MOVED: _l("Coverage moved"),
    AuditAction.IMPORT_APPLIED: _l("Import applied"),
    AuditAction.EXPORT_DOWNLOADED: _l("Export downloaded"),
}


def action_label(action: str) -> str:
    """The action's name in the current language (an unknown one as stored)."""
    try:
        return str(ACTION_LABELS[AuditAction(action)])
    except ValueError:
        return action


def details_text(details: dict[str, Any] | None) -> str:
    """An entry's details as one readable line: ``key: value``, a change as ``key: old → new``."""

    def value(item: Any) -> str:
        if isinstance(item, dict):
            return ", ".join(f"{key}={value(inner)}" for key, inner in item.items())
        if isinstance(item, list) and len(item) == 2 and not any(isinstance(i, list | dict) for i in item):
            return f"{value(item[0])} → {value(item[1])}"
        if isinstance(item, list):
            return ", ".join(value(inner) for inner in item)
        return "—" if item is None or item == "" else str(item)

    return "; ".join(f"{key}: {value(inner)}" for key, inner in (details or {}).items())

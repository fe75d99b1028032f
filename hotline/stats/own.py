"""The figures people see of their own work: a liaison's year on the workbench, an enterprise's history on
its portal — never the district's.  A template global registered by ``hotline.stats``."""

from __future__ import annotations

from datetime import date, datetime

from flask import g
from flask_login import current_user

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.stats.periods import FIRST_YEAR
from hotline.stats.queries import Figures, StatsFilter, summary
from hotline.timeutil import local_date


def enterprise_figures(enterprise_id: int, now: datetime) -> Figures:
    """An enterprise's figures over its whole history (its portal, its profile): its requests are few and
    read through their (enterprise, created) index, never the rollup."""
    end = date(local_date(now).year + 1, 1, 1)
    return summary(StatsFilter(start=date(FIRST_YEAR, 1, 1), end=end, enterprise_id=enterprise_id), now)


def own_figures() -> Figures:
    """A liaison's figures for the current year, or an enterprise contact's over its enterprise's whole
    history; empty figures for anyone else (and for a contact without an enterprise).  Once per request."""
    if "own_figures" in g:
        cached: Figures = g.own_figures
        return cached
    figures = Figures()
    if current_user.is_authenticated:
        now = utcnow()
        year = local_date(now).year
        end = date(year + 1, 1, 1)
        if current_user.role == Role.LIAISON:
            figures = summary(StatsFilter(start=date(year, 1, 1), end=end, liaison_id=current_user.id), now)
        elif current_user.role == Role.ENTERPRISE and current_user.enterprise_id is not None:
            figures = enterprise_figures(current_user.enterprise_id, now)
    g.own_figures = figures
    return figures

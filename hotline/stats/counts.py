"""The number of closed requests a user may see, from the monthly rollup (:mod:`hotline.stats.models`).

Registered with :func:`hotline.tickets.queries.register_closed_counter` so that the lists' state tabs and
totals do not count the closed requests of a million-row table one by one (issue 9).  A rollup cell holds the
closed requests of one (month, street, building, category, channel, liaison): the liaison is the request's
assignee, so "assigned to me or in a building I cover" is a condition on cells as it is on requests.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from hotline.auth.models import Role, User
from hotline.enterprises.services import covered_building_ids
from hotline.extensions import db
from hotline.stats.models import StatsCell


def closed_visible_to(user: User) -> int | None:
    """Closed requests ``user`` may see (managers: all; a liaison: assigned or in a covered building);
    ``None`` for roles the rollup cannot tell (an enterprise, a department: no such key in a cell)."""
    query = select(func.coalesce(func.sum(StatsCell.total), 0))
    if user.role == Role.LIAISON:
        buildings = covered_building_ids(user)
        query = query.where(or_(StatsCell.liaison_id == user.id, StatsCell.building_id.in_(buildings)))
    elif not user.is_staff:
        return None
    return int(db.session.scalar(query) or 0)

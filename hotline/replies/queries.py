"""Which reply templates a user sees: its own and the shared ones, never archived; staff only.

Access is decided here: another's personal template, an archived one, or any for an enterprise's contact
is :class:`~hotline.errors.NotFound`, the same as one that does not exist.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, case, false, or_, select
from sqlalchemy.orm import joinedload

from hotline.auth.models import Role, User
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.replies.models import ReplyTemplate
from hotline.tickets.models import Ticket

STAFF = (Role.LIAISON, Role.DEPARTMENT, Role.MANAGER, Role.ADMIN)
OFFERED_MAX = 100  # templates offered on a request's page: one bounded read


def visible_templates(user: User) -> Select[ReplyTemplate]:
    """The templates ``user`` sees, shared ones first, then by title."""
    query = select(ReplyTemplate).where(ReplyTemplate.archived_at.is_(None))
    if user.role not in STAFF:
        return query.where(false())
    return query.where(or_(ReplyTemplate.owner_id == user.id, ReplyTemplate.shared.is_(True))).order_by(
        ReplyTemplate.shared.desc(), ReplyTemplate.title, ReplyTemplate.id
    )


def get_visible_template(user: User, template_id: int) -> ReplyTemplate:
    """The template with this id if ``user`` sees it; :class:`NotFound` otherwise."""
    template = db.session.scalars(visible_templates(user).where(ReplyTemplate.id == template_id)).first()
    if template is None:
        raise NotFound(_("No such reply template."))
    return template


def offered_for(user: User, ticket: Ticket) -> list[ReplyTemplate]:
    """The templates offered on ``ticket``'s page: those of its category first, then those of no category,
    then the others; at most :data:`OFFERED_MAX`, in one query."""
    rank = case(
        (ReplyTemplate.category_id == ticket.category_id, 0),
        (ReplyTemplate.category_id.is_(None), 1),
        else_=2,
    )
    query = (
        visible_templates(user)
        .order_by(None)
        .order_by(rank, ReplyTemplate.shared.desc(), ReplyTemplate.title, ReplyTemplate.id)
        .options(joinedload(ReplyTemplate.category))
        .limit(OFFERED_MAX)
    )
    return list(db.session.scalars(query))

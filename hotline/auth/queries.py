"""Reading accounts: the administrators' list of users (page and API)."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from hotline.auth.models import Role, User


def user_list(*, role: Role | None = None, term: str = "", active: bool | None = None) -> Select[tuple[User]]:
    """Every account by username, with its enterprise and department: of ``role``, whose username or name
    contains ``term`` (case-insensitively), active or deactivated (``active``); None/empty: any."""
    query = select(User).options(selectinload(User.enterprise), selectinload(User.department))
    if role is not None:
        query = query.where(User.role == role)
    term = term.strip()
    if term:
        query = query.where(
            or_(User.username.icontains(term, autoescape=True), User.name.icontains(term, autoescape=True))
        )
    if active is not None:
        query = query.where(User.active.is_(active))
    return query.order_by(User.username)

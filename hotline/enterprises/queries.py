"""Read-only queries behind the enterprise pages; access is decided by ``services.visible_enterprises``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import joinedload

from hotline.auth.models import Role, User
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, CoverageRole, Enterprise
from hotline.enterprises.services import visible_enterprises
from hotline.extensions import db


def enterprise_list(user: User, *, unverified_only: bool = False, search: str = "") -> Select[Enterprise]:
    """The enterprises ``user`` may see, newest first; optionally only unverified ones or a search."""
    query = visible_enterprises(user).options(joinedload(Enterprise.building).joinedload(Building.street))
    if unverified_only:
        query = query.where(Enterprise.verified_at.is_(None))
    term = (search or "").strip()
    if term:
        query = query.where(
            or_(
                Enterprise.name.icontains(term, autoescape=True),
                Enterprise.uscc.icontains(term, autoescape=True),
            )
        )
    return query.order_by(Enterprise.created_at.desc(), Enterprise.id.desc())


def contact_counts(enterprise_ids: Sequence[int]) -> dict[int, int]:
    """How many contact accounts each of these enterprises has (one grouped query for a page of rows)."""
    if not enterprise_ids:
        return {}
    rows = db.session.execute(
        select(User.enterprise_id, func.count(User.id))
        .where(User.enterprise_id.in_(enterprise_ids), User.role == Role.ENTERPRISE)
        .group_by(User.enterprise_id)
    ).all()
    return {enterprise_id: count for enterprise_id, count in rows if enterprise_id is not None}


def visible_enterprise(user: User, enterprise_id: int) -> Enterprise | None:
    """One enterprise, if ``user`` may see it."""
    return db.session.scalars(visible_enterprises(user).where(Enterprise.id == enterprise_id)).first()


def visible_enterprise_by_uscc(user: User, code: str) -> Enterprise | None:
    """The enterprise of this 统一社会信用代码 if ``user`` may see it (staff any, a liaison those of its
    buildings, a contact its own); None otherwise, and for a malformed code without asking the database."""
    code = uscc_codes.normalise(code or "")
    if len(code) != 18 or any(c not in uscc_codes.VALUES for c in code):
        return None
    query = visible_enterprises(user).where(Enterprise.uscc == code)
    return db.session.scalars(
        query.options(joinedload(Enterprise.building).joinedload(Building.street))
    ).first()


def liaisons_of(building_id: int) -> list[Coverage]:
    """Who covers the building now: the primary liaison first, then the deputies, by name."""
    return list(
        db.session.scalars(
            select(Coverage)
            .join(User, User.id == Coverage.liaison_id)
            .where(Coverage.building_id == building_id, Coverage.active.is_(True), User.active.is_(True))
            .order_by(case((Coverage.role == CoverageRole.PRIMARY, 0), else_=1), User.name, User.id)
            .options(joinedload(Coverage.liaison))
        )
    )


def contacts_of(enterprise_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.enterprise_id == enterprise_id, User.role == Role.ENTERPRISE)
            .order_by(User.created_at, User.id)
        )
    )

"""Keeping reply templates.

The rules:

- only staff (liaisons, departments, managers) keep templates; an enterprise's contact has none;
- a personal template is its owner's alone: only it sees, edits and archives it;
- a shared template is seen by all staff, made by a manager (the district's wording), edited and archived
  by any manager or by its author (who may keep it shared, or not, even if no longer a manager);
- a title (at most :data:`TITLE_MAX`) and a text (at most :data:`BODY_MAX`, placeholders allowed:
  :mod:`hotline.replies.placeholders`) are required; the category is optional, an active one's code.

Every field is checked at once; the services flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.replies.models import ReplyTemplate
from hotline.replies.queries import STAFF, get_visible_template
from hotline.text import read_text
from hotline.tickets.models import Category
from hotline.tickets.workflow import TEXT_MAX

TITLE_MAX = 100
BODY_MAX = TEXT_MAX  # a filled template must still fit a reply or an answer


def may_share(user: User) -> bool:
    """Whether ``user`` may make a template shared (managers)."""
    return user.role in (Role.MANAGER, Role.ADMIN)


def may_edit(template: ReplyTemplate, user: User) -> bool:
    """Whether ``user`` may edit or archive ``template`` (one it sees)."""
    return template.owner_id == user.id or (template.shared and may_share(user))


def _read(
    actor: User, title: object, body: object, category: object, shared: object, *, was_shared: bool = False
) -> tuple[str, str, Category | None, bool]:
    errors: dict[str, str] = {}
    title_text = read_text(title, "title", errors, required=True, limit=TITLE_MAX)
    body_text = read_text(body, "body", errors, required=True, limit=BODY_MAX, multiline=True)
    found: Category | None = None
    code = read_text(category, "category", errors, required=False, limit=32)
    if code:
        found = db.session.scalars(select(Category).where(Category.code == code, Category.active)).first()
        if found is None:
            errors["category"] = _("No such category.")
    if not isinstance(shared, bool):
        errors["shared"] = _("Not a valid choice.")
        shared = False
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    if shared and not was_shared and not may_share(actor):
        raise Forbidden(_("Only managers make shared reply templates."))
    return title_text, body_text, found, shared


def create_template(
    actor: User,
    now: datetime,
    *,
    title: object,
    body: object,
    category: object = None,
    shared: object = False,
) -> ReplyTemplate:
    """A new template of ``actor``.  Raises ValidationFailed (fields ``title``, ``body``, ``category``,
    ``shared``), Forbidden (not staff; shared by someone who is not a manager)."""
    if actor.role not in STAFF:
        raise Forbidden(_("Only staff keep reply templates."))
    title_text, body_text, found, is_shared = _read(actor, title, body, category, shared)
    template = ReplyTemplate(
        owner_id=actor.id,
        shared=is_shared,
        category_id=found.id if found else None,
        title=title_text,
        body=body_text,
        created_at=now,
        updated_at=now,
    )
    db.session.add(template)
    db.session.flush()
    return template


def update_template(
    template_id: int,
    actor: User,
    now: datetime,
    *,
    title: object,
    body: object,
    category: object = None,
    shared: object = False,
) -> ReplyTemplate:
    """Change a template ``actor`` may edit.  Raises NotFound (not one it sees), Forbidden (may not edit
    it; shared by someone who is not a manager), ValidationFailed (as :func:`create_template`)."""
    template = get_visible_template(actor, template_id)
    if not may_edit(template, actor):
        raise Forbidden(_("Only its author or a manager may change this reply template."))
    title_text, body_text, found, is_shared = _read(
        actor, title, body, category, shared, was_shared=template.shared
    )
    template.title = title_text
    template.body = body_text
    template.category_id = found.id if found else None
    template.shared = is_shared
    template.updated_at = now
    db.session.flush()
    return template


def archive_template(template_id: int, actor: User, now: datetime) -> ReplyTemplate:
    """Archive a template ``actor`` may edit: no longer listed nor offered.  Raises NotFound, Forbidden."""
    template = get_visible_template(actor, template_id)
    if not may_edit(template, actor):
        raise Forbidden(_("Only its author or a manager may archive this reply template."))
    template.archived_at = now
    db.session.flush()
    return template

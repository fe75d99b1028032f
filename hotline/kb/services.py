"""Writing, publishing and reviewing knowledge base articles; recording deflections.

Staff write (liaisons, managers, admins); an article is edited, published and unpublished by its owner or a
manager.  Every field is checked at once: all the messages come back together, on their fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.kb import models as m
from hotline.kb.models import ArticleLanguage, KbArticle, KbDeflection
from hotline.kb.queries import public_article
from hotline.text import read_text
from hotline.tickets.models import Category
from hotline.timeutil import LOCAL_TZ, local_date

STAFF = (Role.LIAISON, Role.MANAGER, Role.ADMIN)


@dataclass
class ArticleInput:
    """What a form or an API body gives for an article (texts as typed)."""

    title: Any = ""
    body: Any = ""
    language: Any = "zh"
    category: Any = ""  # a category code, or empty
    tags: Any = ""
    policy_title: Any = ""
    policy_number: Any = ""
    policy_url: Any = ""
    valid_until: date | None = None


def is_staff(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in STAFF


def may_edit(article: KbArticle, user: User) -> bool:
    """The owner, a manager or an admin."""
    return user.id == article.owner_id or user.role in (Role.MANAGER, Role.ADMIN)


def _require_staff(actor: User) -> None:
    if not is_staff(actor):
        raise Forbidden(_("Only liaisons and managers write knowledge base articles."))


def _apply(article: KbArticle, data: ArticleInput) -> None:
    errors: dict[str, str] = {}
    title = read_text(data.title, "title", errors, required=True, limit=m.TITLE_MAX)
    body = read_text(data.body, "body", errors, required=True, limit=m.BODY_MAX, multiline=True)
    tags = read_text(data.tags, "tags", errors, required=False, limit=m.TAGS_MAX)
    policy_title = read_text(
        data.policy_title, "policy_title", errors, required=False, limit=m.POLICY_TITLE_MAX
    )
    policy_number = read_text(
        data.policy_number, "policy_number", errors, required=False, limit=m.POLICY_NUMBER_MAX
    )
    policy_url = read_text(data.policy_url, "policy_url", errors, required=False, limit=m.POLICY_URL_MAX)
    if policy_url and (
        urlsplit(policy_url).scheme not in ("http", "https") or not urlsplit(policy_url).netloc
    ):
        errors["policy_url"] = _(
            "Give the address of the policy document, starting with http:// or https://."
        )
    try:
        language = ArticleLanguage(str(data.language))
    except ValueError:
        errors["language"] = _("Choose a language.")
        language = ArticleLanguage.ZH
    category = None
    code = read_text(data.category, "category", errors, required=False, limit=32)
    if code:
        category = db.session.scalars(
            select(Category).where(Category.code == code, Category.active.is_(True))
        ).first()
        if category is None:
            errors["category"] = _("Choose a category from the list.")
    if errors:
        raise ValidationFailed(_("Correct the marked fields."), errors)
    # tags: comma-separated (Chinese or Latin commas), each trimmed, no duplicates
    parts = [t.strip() for t in tags.replace("，", ",").replace("、", ",").split(",")]
    article.title = title
    article.body = body
    article.tags = ",".join(dict.fromkeys(t for t in parts if t))
    article.policy_title = policy_title
    article.policy_number = policy_number
    article.policy_url = policy_url
    article.language = language
    article.category = category
    article.valid_until = data.valid_until


def create_article(
    actor: User, data: ArticleInput, now: datetime, *, source_ticket_id: int | None = None
) -> KbArticle:
    """A new draft owned by ``actor``.  Raises Forbidden (not staff), ValidationFailed (the fields)."""
    _require_staff(actor)
    article = KbArticle(owner_id=actor.id, source_ticket_id=source_ticket_id, created_at=now, updated_at=now)
    _apply(article, data)
    db.session.add(article)
    db.session.flush()
    return article


def editable_article(actor: User, article_id: int) -> KbArticle:
    """The article ``actor`` may edit.  Raises NotFound (none, or not staff), Forbidden (another's)."""
    article = db.session.get(KbArticle, article_id) if is_staff(actor) else None
    if article is None:
        raise NotFound(_("There is no such article."))
    if not may_edit(article, actor):
        raise Forbidden(_("Only its owner or a manager changes this article."))
    return article


def update_article(actor: User, article_id: int, data: ArticleInput, now: datetime) -> KbArticle:
    """Change an article's fields (it stays published or draft).  Raises NotFound, Forbidden,
    ValidationFailed."""
    article = editable_article(actor, article_id)
    _apply(article, data)
    article.updated_at = now
    db.session.flush()
    return article


def set_published(actor: User, article_id: int, published: bool, now: datetime) -> KbArticle:
    """Publish or take back an article.  Raises NotFound, Forbidden."""
    article = editable_article(actor, article_id)
    if published and not article.published:
        article.published_at = now
    article.published = published
    article.updated_at = now
    db.session.flush()
    return article


def record_deflection(actor: User, article_id: int, now: datetime) -> KbDeflection:
    """An enterprise contact says ``article_id`` answered its question (a request avoided).  Raises Forbidden
    (not an enterprise contact), NotFound (the article is not public now)."""
    if actor.role != Role.ENTERPRISE:
        raise Forbidden(_("Only an enterprise records that an article answered its question."))
    article = public_article(article_id, now)
    # once a day per contact and article: pressing the button again is not another request avoided
    day_start = datetime.combine(local_date(now), time(0, 0), LOCAL_TZ)
    already = db.session.scalars(
        select(KbDeflection).where(
            KbDeflection.article_id == article.id,
            KbDeflection.user_id == actor.id,
            KbDeflection.created_at >= day_start,
        )
    ).first()
    if already is not None:
        return already
    deflection = KbDeflection(article_id=article.id, user_id=actor.id, created_at=now)
    db.session.add(deflection)
    db.session.flush()
    return deflection

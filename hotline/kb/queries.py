"""Reading the knowledge base: what the public and enterprises see, search, the owner's list to review.

Search is a bounded ``LIKE '%term%'`` over title, body and tags of the published, still valid articles of
one language (the ``(published, language, valid_until)`` index narrows to them), a page at a time.  The
knowledge base is small (hundreds of articles, not the hundreds of thousands of requests that
:mod:`hotline.tickets.search_index` serves), so a trigram index and its triggers would cost more than they
save; ``LIKE`` finds any Chinese substring, one character or more.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import joinedload

from hotline.auth.models import User
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.kb.models import ArticleLanguage, KbArticle, KbDeflection
from hotline.text import has_control_characters
from hotline.timeutil import local_date

QUERY_MAX = 100  # characters of a search read; more is cut
TERMS_MAX = 5  # terms of a search read; more are ignored
SUGGESTIONS = 5
SUGGEST_POOL = 500  # public articles compared with a request being typed
SUGGEST_MIN_SHARED = 2  # character pairs (or words) in common
_SPLIT = re.compile(r"[\s,，。、；;：:？?！!()（）《》“”\"'【】]+")


def terms_of(text: str | None) -> list[str]:
    """The search terms of ``text``: split on white space and punctuation, at most :data:`TERMS_MAX`."""
    if not text or has_control_characters(text):
        return []
    return [t for t in _SPLIT.split(text[:QUERY_MAX]) if t][:TERMS_MAX]


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(term: str) -> ColumnElement[bool]:
    pattern = _like(term)
    return or_(
        *(
            func.lower(column).like(pattern, escape="\\")
            for column in (KbArticle.title, KbArticle.body, KbArticle.tags)
        )
    )


def visible_condition(today: date, language: ArticleLanguage | None) -> ColumnElement[bool]:
    """Published and not past its validity date on ``today`` (of ``language`` when given)."""
    condition = and_(
        KbArticle.published.is_(True), or_(KbArticle.valid_until.is_(None), KbArticle.valid_until >= today)
    )
    if language is not None:
        condition = and_(condition, KbArticle.language == language)
    return condition


def public_search(
    text: str | None, now: datetime, language: ArticleLanguage | None
) -> Select[tuple[KbArticle]]:
    """The published valid articles matching every term of ``text``, the latest changed first.  No text:
    all of them; a text with no term (only punctuation, control characters): none."""
    query = (
        select(KbArticle)
        .where(visible_condition(local_date(now), language))
        .options(joinedload(KbArticle.category))
        .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
    )
    if text is None or not text.strip():
        return query
    terms = terms_of(text)
    if not terms:
        return query.where(false())
    return query.where(and_(*(_matches(t) for t in terms)))


def _keys(text: str) -> set[str]:
    """What two texts are compared by: the pairs of consecutive characters of each Chinese run, and the
    lower-cased Latin words and numbers (an enterprise types a sentence, not search terms:
    我想问研发费用加计扣除 shares 研发, 发费, 费用 … with an article titled 研发费用加计扣除政策问答)."""
    keys: set[str] = set()
    for run in _SPLIT.split(text.lower()):
        for chunk in re.findall(r"[\u4e00-\u9fff]+|[a-z0-9]+", run):
            if chunk.isascii():
                if len(chunk) > 1:
                    keys.add(chunk)
            else:
                keys.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return keys


def suggestions(text: str | None, now: datetime, language: ArticleLanguage) -> list[KbArticle]:
    """At most :data:`SUGGESTIONS` articles for a request being typed: those whose title and tags share at
    least :data:`SUGGEST_MIN_SHARED` character pairs (or words) with ``text``, the most shared first.

    Bounded: the titles and tags of the :data:`SUGGEST_POOL` latest changed public articles of the language
    (three short columns, through the public index) are compared in Python; the knowledge base is small,
    and a sentence is not a substring of any title, so ``LIKE`` cannot find it."""
    if not text or has_control_characters(text):
        return []
    wanted = _keys(text[:QUERY_MAX])
    if not wanted:
        return []
    pool = db.session.execute(
        select(KbArticle.id, KbArticle.title, KbArticle.tags)
        .where(visible_condition(local_date(now), language))
        .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
        .limit(SUGGEST_POOL)
    ).all()
    scored = sorted(
        (
            (len(wanted & _keys(f"{title} {tags}")), -index, article_id)
            for index, (article_id, title, tags) in enumerate(pool)
        ),
        reverse=True,
    )
    ids = [article_id for shared, _index, article_id in scored[:SUGGESTIONS] if shared >= SUGGEST_MIN_SHARED]
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(select(KbArticle).where(KbArticle.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def public_article(article_id: int, now: datetime) -> KbArticle:
    """A published article still valid; NotFound otherwise (a draft and an expired one alike)."""
    article = db.session.scalars(
        select(KbArticle).where(KbArticle.id == article_id, visible_condition(local_date(now), None))
    ).first()
    if article is None:
        raise NotFound(_("There is no such article."))
    return article


def staff_articles(text: str | None) -> Select[tuple[KbArticle]]:
    """Every article, drafts and expired ones too (staff), matching every term of ``text``."""
    query = (
        select(KbArticle)
        .options(joinedload(KbArticle.owner), joinedload(KbArticle.category))
        .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
    )
    terms = terms_of(text)
    if terms:
        query = query.where(and_(*(_matches(t) for t in terms)))
    return query


def to_review(owner: User, now: datetime, limit: int = 100) -> list[KbArticle]:
    """The articles of ``owner`` past their validity date, the longest expired first (the owner index)."""
    return list(
        db.session.scalars(
            select(KbArticle)
            .where(KbArticle.owner_id == owner.id, KbArticle.valid_until < local_date(now))
            .order_by(KbArticle.valid_until, KbArticle.id)
            .limit(limit)
        )
    )


def deflections_between(start: datetime, end: datetime) -> int:
    """Deflections recorded in [start, end): requests avoided (one range of the created_at index)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(KbDeflection)
            .where(KbDeflection.created_at >= start, KbDeflection.created_at < end)
        )
        or 0
    )


ANSWERS_OFFERED_MAX = 20  # articles offered beside a request's reply and answer forms


def answers_for_category(category_id: int, today: date, limit: int = ANSWERS_OFFERED_MAX) -> list[KbArticle]:
    """The published, still valid articles of a category (both languages, the latest changed first): what
    staff may answer a request of that category with, from its page."""
    return list(
        db.session.scalars(
            select(KbArticle)
            .where(visible_condition(today, None), KbArticle.category_id == category_id)
            .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
            .limit(limit)
        )
    )

"""Knowledge base articles and the deflections they earn."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db
from hotline.tickets.models import Category, _enum


class ArticleLanguage(enum.StrEnum):
    """An article is written in one language: a Chinese one and its English translation are two articles
    (each with its own title, body, owner and review date), and each reader is shown those of its language."""

    ZH = "zh"
    EN = "en"


TITLE_MAX = 200
BODY_MAX = 20_000
TAGS_MAX = 200
POLICY_TITLE_MAX = 200
POLICY_NUMBER_MAX = 100
POLICY_URL_MAX = 500


class KbArticle(db.Model):  # type: ignore[name-defined]
    """One article.  ``valid_until`` (a local date, inclusive) is when the policy it rests on must be checked
    again: past it the article is hidden from the public and enterprises and listed for its owner."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        # the public's reads: published articles of one language, still valid
        Index("ix_kb_articles_public", "published", "language", "valid_until"),
        Index("ix_kb_articles_owner", "owner_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[ArticleLanguage] = mapped_column(_enum(ArticleLanguage), default=ArticleLanguage.ZH)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    tags: Mapped[str] = mapped_column(String(TAGS_MAX), default="")
    policy_title: Mapped[str] = mapped_column(String(POLICY_TITLE_MAX), default="")
    policy_number: Mapped[str] = mapped_column(String(POLICY_NUMBER_MAX), default="")
    policy_url: Mapped[str] = mapped_column(String(POLICY_URL_MAX), default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    category: Mapped[Category | None] = relationship()

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (part.strip() for part in self.tags.split(",")) if t]

    def expired_on(self, today: date) -> bool:
        """Whether the article is past its validity date on the local day ``today``."""
        return self.valid_until is not None and self.valid_until < today


class KbDeflection(db.Model):  # type: ignore[name-defined]
    """An enterprise said an article answered its question instead of filing a request."""

    __tablename__ = "kb_deflections"
    __table_args__ = (Index("ix_kb_deflections_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

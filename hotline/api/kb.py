"""The policy knowledge base through the API (issue 13 point 4): public, no token needed.

What it answers is what the public search page shows: published articles still valid (a draft or an
article past its validity date answers 404), matching every term of ``q`` (a Chinese substring of the
title, body or tags), the latest changed first.  A token is not needed, and one sent is not read: the
knowledge base is the same for everyone.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from hotline.api import schemas
from hotline.api.views import bp, errors_documented, paginate
from hotline.db import utcnow
from hotline.kb import markdown, queries
from hotline.kb.models import ArticleLanguage, KbArticle


class KbSearchArgs(schemas.PageArgs):
    q = fields.String(
        load_default="",
        validate=ma.validate.Length(max=queries.QUERY_MAX),
        metadata={
            "description": "Words to find in the title, body or tags (Chinese substrings); all must match"
        },
    )
    language = fields.String(
        load_default=None,
        validate=ma.validate.OneOf([lang.value for lang in ArticleLanguage], error=_l("Choose zh or en.")),
        metadata={"description": "zh or en; all languages when left out"},
    )


class KbArticleSchema(schemas.Base):
    id = fields.Integer(required=True)
    language = fields.Function(lambda a: a.language.value, required=True, metadata={"type": "string"})
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown, as written"})
    body_html = fields.Function(
        lambda a: str(markdown.render(a.body)),
        required=True,
        metadata={"type": "string", "description": "The body rendered and sanitised"},
    )
    category = fields.Function(
        lambda a: a.category.code if a.category else None,
        required=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    tags = fields.Function(
        lambda a: a.tag_list, required=True, metadata={"type": "array", "items": {"type": "string"}}
    )
    policy = fields.Function(
        lambda a: {"title": a.policy_title, "number": a.policy_number, "url": a.policy_url},
        required=True,
        metadata={"type": "object"},
    )
    valid_until = fields.Date(required=True, allow_none=True)
    updated_at = schemas.LocalTime(required=True, metadata=schemas.TIME_REQUIRED)


KbArticlePage = schemas.page_of(KbArticleSchema, "KbArticlePage")


@bp.route("/kb", methods=["GET"])
@bp.arguments(KbSearchArgs, location="query")
@errors_documented(400)
@bp.response(200, KbArticlePage)
def kb_search(args: dict[str, Any]) -> dict[str, Any]:
    """Search the policy knowledge base (no token needed): published articles still valid."""
    language = ArticleLanguage(args["language"]) if args["language"] else None
    result = paginate(queries.public_search(args["q"], utcnow(), language), args)
    return schemas.page_answer(result)


@bp.route("/kb/<int:article_id>", methods=["GET"])
@errors_documented(404)
@bp.response(200, KbArticleSchema)
def kb_article(article_id: int) -> KbArticle:
    """One published article still valid (no token needed); 404 for a draft or one past its date."""
    return queries.public_article(article_id, utcnow())

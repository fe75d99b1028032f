"""Reply templates through the API (issue 13, point 5): the caller's own and the shared ones, filled for a
request with ``?ticket=<number>``; create, change, archive.  Staff only; another's personal template, an
archived one, or a request the caller may not see answers 404."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import fields

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented
from hotline.db import utcnow
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.replies import queries, services
from hotline.replies.models import ReplyTemplate
from hotline.replies.placeholders import fill, values_of
from hotline.tickets import queries as ticket_queries
from hotline.web import perform


class ReplyTemplateArgs(schemas.Base):
    ticket = fields.String(
        metadata={
            "description": "A request's number: each text is filled with its enterprise, number and title"
        }
    )


class ReplyTemplateSchema(schemas.Base):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "The template, with its placeholders"})
    text = fields.String(
        required=True,
        metadata={
            "description": "The body filled for the request of `ticket` ({企业名称}/{enterprise}, "
            "{诉求编号}/{number}, {诉求标题}/{title}); the body itself without `ticket`"
        },
    )
    category = fields.String(
        required=True, allow_none=True, metadata={"description": "The category's code; null: any"}
    )
    shared = fields.Boolean(required=True)
    owner = fields.String(required=True, metadata={"description": "The author's username"})
    may_edit = fields.Boolean(required=True)


class ReplyTemplateList(schemas.Base):
    items = fields.List(fields.Nested(ReplyTemplateSchema), required=True)


class ReplyTemplateBody(schemas.Base):
    title = schemas.clean_text(required=True, max_length=services.TITLE_MAX)
    body = schemas.clean_text(required=True, multiline=True, max_length=services.BODY_MAX)
    category = schemas.clean_text(description="A category's code; absent or null: any category")
    shared = schemas.json_boolean(description="Shared with all staff (managers only); default false")


def _staff() -> Any:
    user = api_user()
    if user.role not in queries.STAFF:
        raise Forbidden(_("Only staff keep reply templates."))
    return user


def _answer(template: ReplyTemplate, user: Any, values: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "body": template.body,
        "text": fill(template.body, values) if values else template.body,
        "category": template.category.code if template.category else None,
        "shared": template.shared,
        "owner": template.owner.username,
        "may_edit": services.may_edit(template, user),
    }


def _values(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": body.get("title"),
        "body": body.get("body"),
        "category": body.get("category"),
        "shared": bool(body.get("shared") or False),
    }


@bp.route("/reply-templates", methods=["GET"])
@token_required
@bp.arguments(ReplyTemplateArgs, location="query")
@errors_documented(401, 403, 404)
@bp.response(200, ReplyTemplateList)
@bp.doc(security=BEARER)
def list_reply_templates(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's reply templates and the shared ones (staff).  With `ticket`, as offered on that
    request's page: its category's first, each `text` filled for it (404 for a request the caller may not
    see)."""
    user = _staff()
    number = args.get("ticket")
    if number:
        ticket = ticket_queries.get_visible_ticket(user, number)
        values = values_of(ticket)
        templates = queries.offered_for(user, ticket)
        return {"items": [_answer(t, user, values) for t in templates]}
    rows = queries.visible_templates(user).limit(queries.OFFERED_MAX)
    return {"items": [_answer(t, user) for t in db.session.scalars(rows)]}


@bp.route("/reply-templates", methods=["POST"])
@token_required
@bp.arguments(ReplyTemplateBody)
@errors_documented(401, 403)
@bp.response(201, ReplyTemplateSchema)
@bp.doc(security=BEARER)
def create_reply_template(body: dict[str, Any]) -> dict[str, Any]:
    """A new reply template of the caller (staff; `shared`: managers only)."""
    user = _staff()
    template = perform(lambda: services.create_template(user, utcnow(), **_values(body)))
    return _answer(template, user)


def _template_id(template_id: int) -> int:
    return schemas.row_id(template_id, _("No such reply template."))


@bp.route("/reply-templates/<int:template_id>", methods=["PUT"])
@token_required
@bp.arguments(ReplyTemplateBody)
@errors_documented(401, 403, 404)
@bp.response(200, ReplyTemplateSchema)
@bp.doc(security=BEARER)
def update_reply_template(body: dict[str, Any], template_id: int) -> dict[str, Any]:
    """Change a reply template (its author, or a manager for a shared one): every field is replaced."""
    user = _staff()
    key = _template_id(template_id)
    template = perform(lambda: services.update_template(key, user, utcnow(), **_values(body)))
    return _answer(template, user)


@bp.route("/reply-templates/<int:template_id>", methods=["DELETE"])
@token_required
@errors_documented(401, 403, 404)
@bp.response(204)
@bp.doc(security=BEARER)
def archive_reply_template(template_id: int) -> None:
    """Archive a reply template (its author, or a manager for a shared one): no longer listed nor offered."""
    user = _staff()
    key = _template_id(template_id)
    perform(lambda: services.archive_template(key, user, utcnow()))

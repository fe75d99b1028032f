"""The knowledge base's pages: public search and articles (no login), staff management, deflections."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.i18n import current_locale
from hotline.kb import queries, services
from hotline.kb.forms import ArticleForm
from hotline.kb.models import ArticleLanguage, KbArticle
from hotline.tickets import queries as ticket_queries
from hotline.tickets.forms import choices
from hotline.tickets.models import TicketState
from hotline.timeutil import local_date
from hotline.web import perform, refused

bp = Blueprint("kb", __name__, url_prefix="/kb")


def reader_language() -> ArticleLanguage:
    return ArticleLanguage.EN if current_locale() == "en" else ArticleLanguage.ZH


def _paginate(query: Select[tuple[KbArticle]]) -> Any:
    return db.paginate(query, per_page=current_app.config["PER_PAGE"], max_per_page=100, error_out=False)


@bp.route("/")
def index() -> str:
    q = request.args.get("q", "")[: queries.QUERY_MAX]
    page = _paginate(queries.public_search(q, utcnow(), reader_language()))
    return render_template("kb/index.html", page=page, q=q)


@bp.route("/<int:article_id>")
def article(article_id: int) -> str:
    now = utcnow()
    staff = services.is_staff(current_user)
    found = db.session.get(KbArticle, article_id) if staff else None
    shown = found if found is not None else queries.public_article(article_id, now)
    return render_template(
        "kb/article.html",
        article=shown,
        staff=staff,
        may_edit=staff and services.may_edit(shown, current_user),
        expired=shown.expired_on(local_date(now)),
        may_deflect=getattr(current_user, "is_authenticated", False) and current_user.role == Role.ENTERPRISE,
    )


@bp.route("/suggest")
def suggest() -> Response:
    """The articles for a request being typed (the form's script): ``[{"id", "title", "url"}]``."""
    q = request.args.get("q", "")
    found = queries.suggestions(q, utcnow(), reader_language())
    return jsonify(
        [
            {
                "id": a.id,
                "title": a.title,
                "url": url_for(".article", article_id=a.id),
                "deflect_url": url_for(".deflect", article_id=a.id),
            }
            for a in found
        ]
    )


@bp.route("/<int:article_id>/answered", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def deflect(article_id: int) -> Response:
    """ "This answered my question": a request avoided; back to the portal."""
    perform(lambda: services.record_deflection(current_user, article_id, utcnow()))
    flash(_("Glad it helped. No request was filed."), "success")
    return redirect(url_for("tickets.portal"))


# --------------------------------------------------------------------------- staff


def _form_choices(form: ArticleForm) -> None:
    form.category.choices = choices((c.code, c.name) for c in ticket_queries.active_categories())


def _input(form: ArticleForm) -> services.ArticleInput:
    return services.ArticleInput(
        title=form.title.data,
        body=form.body.data,
        language=form.language.data,
        category=form.category.data,
        tags=form.tags.data,
        policy_title=form.policy_title.data,
        policy_number=form.policy_number.data,
        policy_url=form.policy_url.data,
        valid_until=form.valid_until.data,
    )


@bp.route("/manage/")
@roles_required(Role.LIAISON, Role.MANAGER)
def manage() -> str:
    q = request.args.get("q", "")[: queries.QUERY_MAX]
    now = utcnow()
    page = _paginate(queries.staff_articles(q))
    return render_template(
        "kb/manage.html",
        page=page,
        q=q,
        to_review=queries.to_review(current_user, now),
        today=local_date(now),
    )


@bp.route("/manage/new", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def new() -> tuple[str, int] | Response:
    form = ArticleForm()
    _form_choices(form)
    if request.method == "GET" and (number := request.args.get("from")):
        # one click from a resolved request: its title, category and answer, for the author to edit
        ticket = ticket_queries.get_visible_ticket(current_user, number[:40])
        if ticket.state not in (TicketState.RESOLVED, TicketState.CLOSED) or not ticket.answer:
            raise NotFound(_("Only a resolved request's answer becomes an article."))
        form.source_ticket.data = ticket.number
        form.title.data = ticket.title
        form.body.data = ticket.answer
        form.category.data = ticket.category.code if ticket.category else ""
        form.language.data = reader_language().value
    if form.is_submitted() and form.validate():
        source_id = None
        if form.source_ticket.data:
            source_id = ticket_queries.get_visible_ticket(current_user, form.source_ticket.data[:40]).id
        done = perform(
            lambda: services.create_article(current_user, _input(form), utcnow(), source_ticket_id=source_id),
            form=form,
        )
        if isinstance(done, KbArticle):
            flash(_("The article is saved as a draft."), "success")
            return redirect(url_for(".article", article_id=done.id))
    status = 400 if request.method == "POST" else 200
    return render_template("kb/edit.html", form=form, article=None), status


@bp.route("/manage/<int:article_id>/edit", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def edit(article_id: int) -> tuple[str, int] | Response:
    article_row = services.editable_article(current_user, article_id)
    form = ArticleForm(obj=None if request.method == "POST" else article_row)
    _form_choices(form)
    if request.method == "GET":
        form.language.data = article_row.language.value
        form.category.data = article_row.category.code if article_row.category else ""
    if form.is_submitted() and form.validate():
        done = perform(
            lambda: services.update_article(current_user, article_id, _input(form), utcnow()), form=form
        )
        if not refused(done):
            flash(_("The article is saved."), "success")
            return redirect(url_for(".article", article_id=article_id))
    status = 400 if request.method == "POST" else 200
    return render_template("kb/edit.html", form=form, article=article_row), status


@bp.route("/manage/<int:article_id>/publish", methods=["POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def publish(article_id: int) -> Response:
    publish_it = request.form.get("published") == "1"
    perform(lambda: services.set_published(current_user, article_id, publish_it, utcnow()))
    flash(_("The article is published.") if publish_it else _("The article is back to draft."), "success")
    return redirect(url_for(".article", article_id=article_id))

"""Pages of the request lifecycle: enterprise portal, liaison workbench, department queue, dispatch pool."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tickets", __name__)


@bp.route("/portal/")
def portal() -> str:
    return "TODO"


@bp.route("/portal/new")
def new_ticket() -> str:
    return "TODO"


@bp.route("/workbench/")
def workbench() -> str:
    return "TODO"


@bp.route("/workbench/record")
def record() -> str:
    return "TODO"


@bp.route("/department/")
def department_queue() -> str:
    return "TODO"


@bp.route("/manage/pool")
def pool() -> str:
    return "TODO"


@bp.route("/manage/tickets")
def all_tickets() -> str:
    return "TODO"

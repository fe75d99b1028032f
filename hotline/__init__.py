"""企呼我应 — the district enterprise service hotline.

``create_app`` reads as the table of contents of the application: the shell (configuration, database,
languages, security, errors), then the core (the request lifecycle), then each feature, which registers its
own pages, template globals, event subscriptions and tasks from its ``init_app``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from hotline import config as config_module
from hotline.db import utcnow


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=config_module.INSTANCE.as_posix(),
        template_folder=str(config_module.ROOT / "templates"),
    )
    app.config.update(config_module.load(overrides))
    config_module.check_production(app.config)
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)  # the SQLite file, locks, logs live here
    if app.config.get("PASSWORD_HASH_FAST"):
        from hotline.auth.services import configure_hasher

        configure_hasher(time_cost=1, memory_cost=1024)

    from hotline import (
        admin,
        api,
        attachments,
        audit,
        auth,
        cli,
        district,
        enterprises,
        errors,
        followup,
        i18n,
        imports,
        kb,
        meetings,
        merge,
        notifications,
        ops,
        outbox,
        pages,
        replies,
        reports,
        routing,
        security,
        sla,
        stats,
        templating,
        throttle,
        tickets,
        urls,
    )
    from hotline import db as hotline_db
    from hotline.celery_app import celery_init_app
    from hotline.extensions import csrf, db, migrate

    # the shell
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        pre_ping = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("pool_pre_ping")
        if engine.dialect.name == "postgresql" and not pre_ping:
            hotline_db.ping_idle_connections(engine)  # instead of a ping at every checkout
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    _init_login(app)
    security.init_app(app)
    throttle.init_app(app)
    errors.init_app(app)
    urls.init_app(app)  # before any feature registers a route: ids are bounded to 64 bits
    templating.init_app(app)
    celery_init_app(app)

    from hotline import models  # noqa: F401  (every table on the metadata, for create_all and Alembic)

    # the core, then the features above it
    tickets.init_app(app)
    outbox.init_app(app)
    routing.init_app(app)
    sla.init_app(app)
    notifications.init_app(app)
    stats.init_app(app)
    ops.init_app(app)  # /healthz, /readyz, /metrics, request ids, JSON logs, the managers' status banner
    auth.init_app(app)
    enterprises.init_app(app)
    district.init_app(app)  # streets, buildings, departments, categories, coverage
    imports.init_app(app)  # the district's spreadsheets
    reports.init_app(app)  # frozen reports, the public definitions
    followup.init_app(app)  # 回访: the follow-up calls' queue and actions
    replies.init_app(app)  # 常用回复: reply templates, offered on a request's page
    kb.init_app(app)  # the policy knowledge base: articles, public search, deflections
    merge.init_app(app)  # duplicates and 并单 (issue 13)
    attachments.init_app(app)  # files and photos on requests and their messages
    meetings.init_app(app)  # 早茶会, 恳谈会 and 走访: meetings, minutes, the agenda, visits
    admin.init_app(app)
    audit.init_app(app)  # the audit log's page
    api.init_app(app)
    pages.init_app(app)
    cli.init_app(app)
    return app


def _init_login(app: Flask) -> None:
    from hotline.auth import services as accounts
    from hotline.errors import database_unavailable
    from hotline.extensions import login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the session key itself is revocable (auth.services)

    @login_manager.user_loader
    def load_user(key: str) -> Any:
        # A database out of reach raises here, on the first use of ``current_user``, and is answered 503
        # (hotline.errors); that page's frame asks for the user again, and gets none, not a second failure.
        if database_unavailable():
            return None
        return accounts.load_login_session(key, utcnow())

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "warning"

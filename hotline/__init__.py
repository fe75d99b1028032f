"""企呼我应 — the district enterprise service hotline.

``create_app`` reads as the table of contents of the application.
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
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)  # the SQLite file and the broker folders live here
    if app.config.get("PASSWORD_HASH_FAST"):
        from hotline.auth.services import configure_hasher

        configure_hasher(time_cost=1, memory_cost=1024)

    from hotline import i18n, security, templating
    from hotline.extensions import csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    _init_login(app)
    security.init_app(app)
    templating.init_app(app)

    from hotline import models  # noqa: F401  (registers every table with the metadata)
    from hotline.outbox import publisher as outbox_publisher

    outbox_publisher.init_app(app)  # publish outbox messages right after each commit (DESIGN §8)

    from hotline.admin.views import bp as admin_bp
    from hotline.api import init_app as init_api
    from hotline.auth.views import bp as auth_bp
    from hotline.enterprises.views import bp as enterprises_bp
    from hotline.notifications.views import bp as notifications_bp
    from hotline.pages import init_app as init_pages
    from hotline.sla.views import bp as sla_bp
    from hotline.stats.export_views import bp as stats_export_bp
    from hotline.stats.views import bp as stats_bp
    from hotline.tickets.views import bp as tickets_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(enterprises_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(sla_bp)
    app.register_blueprint(stats_export_bp)
    app.register_blueprint(stats_bp)
    init_api(app)
    init_pages(app)

    from hotline.cli import init_app as init_cli

    init_cli(app)
    return app


def _init_login(app: Flask) -> None:
    from hotline.auth import services as accounts
    from hotline.extensions import login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the session key itself is revocable (auth.services)

    @login_manager.user_loader
    def load_user(key: str) -> Any:
        return accounts.load_login_session(key, utcnow())

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "warning"

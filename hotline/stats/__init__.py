"""The figures of DESIGN §7: the 三率 dashboard, the requests behind each figure, exports, public summary."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Keep the monthly rollup in step with every change of a request, let the lists count their closed
    requests from it, and register the pages."""
    from hotline.stats import rollup
    from hotline.stats.counts import closed_visible_to
    from hotline.stats.export_views import bp as exports_bp
    from hotline.stats.own import own_figures
    from hotline.stats.views import bp as pages_bp
    from hotline.tickets.queries import register_closed_counter

    rollup.install()
    register_closed_counter(closed_visible_to)
    app.register_blueprint(exports_bp)
    app.register_blueprint(pages_bp)
    app.jinja_env.globals["own_figures"] = own_figures

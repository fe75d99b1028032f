"""The figures of DESIGN §7: the 三率 dashboard, the requests behind each figure, exports, public summary."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Keep the monthly rollup in step with every change of a request, and register the pages."""
    from hotline.stats import rollup
    from hotline.stats.export_views import bp as exports_bp
    from hotline.stats.own import own_figures
    from hotline.stats.views import bp as pages_bp

    rollup.install()
    app.register_blueprint(exports_bp)
    app.register_blueprint(pages_bp)
    app.jinja_env.globals["own_figures"] = own_figures

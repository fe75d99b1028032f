"""The policy knowledge base (政策知识库, issue 13 point 4).

Staff (liaisons, managers) write articles that answer policy questions, in Markdown rendered safely
(:mod:`hotline.kb.markdown`), each resting on a policy document and valid until a date; a published article
still valid is public (``/kb/``, ``GET /api/v1/kb``), and is suggested beside the request form while an
enterprise types.  "This answered my question" records a deflection (a request avoided), counted on the
dashboard.  An article past its date is hidden from everyone but staff and listed for its owner to review.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The knowledge base's pages (public search, article, staff management)."""
    from hotline.kb import markdown
    from hotline.kb.views import bp

    app.register_blueprint(bp)
    app.jinja_env.filters["kb_markdown"] = markdown.render

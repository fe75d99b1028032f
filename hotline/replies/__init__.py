"""常用回复: reply templates (issue 13, point 5).

Staff keep templates (:mod:`hotline.replies.models`): personal ones, seen by their owner only, and shared
ones, made by managers and seen by all staff, optionally of a category.  A request's page offers them beside
its reply and answer forms, the request's category first, their placeholders filled for that request
(:mod:`hotline.replies.placeholders`); one click puts the text in the form (``static/js/replies.js``; without
script, ``?template=<id>&into=reply|resolve`` fills the form).  The API: ``/api/v1/reply-templates``.
"""

from __future__ import annotations

from flask import Flask

# the request page's forms that templates fill: action -> its text field
TARGETS = {"reply": "body", "resolve": "answer"}


def init_app(app: Flask) -> None:
    from hotline.replies.offer import reply_templates_for
    from hotline.replies.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(reply_templates_for=reply_templates_for, reply_targets=TARGETS)

"""Duplicates and 并单 (issue 13, points 2 and 3).

- :mod:`hotline.merge.services`: the lifecycle rows ``merge`` and ``unmerge``;
- :mod:`hotline.merge.notices`: the merged request's enterprise told where it went and of the main answer;
- :mod:`hotline.merge.links`: the rows ``link`` and ``unlink`` (related requests, table ``ticket_links``);
- :mod:`hotline.merge.similar`: requests that look the same (rapidfuzz over character bigrams), for the
  filing forms (``GET /tickets/similar``) and the staff's "possible duplicates" on a request's page.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hotline.merge import links, notices, services, views
    from hotline.tickets import events, workflow
    from hotline.tickets.models import EventKind

    workflow.bind("merge", services.merge)
    workflow.bind("unmerge", services.unmerge, offered_if=services.may_unmerge)
    workflow.bind("rate_merged", services.rate_merged, offered_if=services.may_rate_merged)
    workflow.bind("link", links.link)
    workflow.bind("unlink", links.unlink, offered_if=links.has_links)
    events.subscribe(notices.on_event, (EventKind.MERGED, EventKind.RESOLVED), order=events.NOTIFY)
    app.register_blueprint(views.bp)
    app.jinja_env.globals["merge_context"] = views.merge_context
    app.jinja_env.globals["similar_for_filing"] = views.similar_for_current_user

"""Automatic routing of requests to liaisons (DESIGN §6); the decisions shown on the request's timeline."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Queue routing when a request waits for a liaison (an event subscriber), deliver the routing messages
    to their task (several to a task when the relay finds a backlog), and let templates show a routing
    decision: ``routing_reason(event)``, ``routing_rule(event)``."""
    from hotline.outbox import services as outbox
    from hotline.routing import lifecycle, tasks
    from hotline.routing.labels import routing_reason, routing_rule

    lifecycle.subscribe()
    batch = outbox.Batching(tasks.route_tickets.name, "ticket_ids", "ticket_id", tasks.ROUTE_BATCH)
    outbox.register_topic(outbox.ROUTE_TICKET, tasks.route_ticket.name, batch=batch)
    app.jinja_env.globals.update(routing_reason=routing_reason, routing_rule=routing_rule)

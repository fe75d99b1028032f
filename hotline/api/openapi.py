"""The OpenAPI 3.1 document of /api/v1, written by hand.

A test compares it with the routes the blueprint registers, so a new endpoint without a description here
fails the suite.
"""

from __future__ import annotations

from typing import Any

_STATES = ["submitted", "assigned", "in_progress", "resolved", "closed", "returned", "withdrawn", "merged"]
_SCORES = ["satisfied", "basically_satisfied", "dissatisfied"]
_CHANNELS = ["web", "phone", "tea_meeting", "roundtable", "visit", "api"]
_EVENT_KINDS = [
    "submitted",
    "assigned",
    "acknowledged",
    "replied",
    "noted",
    "info_added",
    "transferred",
    "handed_back",
    "returned",
    "return_accepted",
    "return_refused",
    "resolved",
    "rated",
    "reopened",
    "closed",
    "withdrawn",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


_TIME = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601 with the +08:00 offset"}
_TEXT = {"type": "string"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {
                        "type": "string",
                        "examples": ["validation_failed", "unauthorized", "forbidden", "not_found"],
                    },
                    "message": {"type": "string", "description": "In the request's language"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Field name → message, for validation errors",
                    },
                },
                ["code", "message", "fields"],
            )
        },
        ["error"],
    ),
    "TokenRequest": _object({"username": _TEXT, "password": _TEXT}, ["username", "password"]),
    "Token": _object(
        {
            "token": {"type": "string", "description": "Send as `Authorization: Bearer <token>`"},
            "expires_at": {"type": "string", "format": "date-time"},
            "user": _object({"username": _TEXT, "name": _TEXT, "role": _TEXT}),
        },
        ["token", "expires_at"],
    ),
    "Category": _object(
        {"code": _TEXT, "name": {"type": "string", "description": "In the request's language"}},
        ["code", "name"],
    ),
    "Person": _object({"username": _TEXT, "name": _TEXT}, ["username", "name"]),
    "Ticket": _object(
        {
            "number": {"type": "string", "examples": ["QH20260103-0001"]},
            "state": {"type": "string", "enum": _STATES},
            "state_label": _TEXT,
            "title": _TEXT,
            "description": _TEXT,
            "category": {"type": "string", "description": "Category code"},
            "urgency": {"type": "string", "enum": ["normal", "urgent"]},
            "channel": {"type": "string", "enum": _CHANNELS},
            "contact_phone": _TEXT,
            "enterprise": _object({"name": _TEXT, "uscc": _TEXT}, ["name", "uscc"]),
            "building": {"type": "string", "description": "Building name"},
            "assignee": {"oneOf": [_ref("Person"), {"type": "null"}]},
            "department": {"type": ["string", "null"], "description": "Code of the department holding it"},
            "answer": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "acknowledge_due_at": _TIME,
            "resolve_due_at": _TIME,
            "rating_due_at": _TIME,
            "acknowledged_at": _TIME,
            "resolved_at": _TIME,
            "closed_at": _TIME,
            "rating": {
                "oneOf": [
                    _object(
                        {"score": {"type": "string", "enum": _SCORES}, "comment": _TEXT}, ["score", "comment"]
                    ),
                    {"type": "null"},
                ]
            },
            "reopen_count": {"type": "integer"},
        },
        [
            "number",
            "state",
            "title",
            "description",
            "category",
            "urgency",
            "channel",
            "enterprise",
            "building",
            "assignee",
            "created_at",
            "acknowledge_due_at",
            "resolve_due_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "rating",
        ],
    ),
    "Event": _object(
        {
            "kind": {"type": "string", "enum": _EVENT_KINDS},
            "from_state": {"type": ["string", "null"], "enum": [*_STATES, None]},
            "to_state": {"type": ["string", "null"], "enum": [*_STATES, None]},
            "actor": {"type": ["string", "null"], "description": "Name of who acted; null for the system"},
            "body": _TEXT,
            "public": {"type": "boolean", "description": "Internal events are never shown to the enterprise"},
            "created_at": {"type": "string", "format": "date-time"},
            "payload": {"type": "object"},
        },
        ["kind", "from_state", "to_state", "actor", "body", "public", "created_at", "payload"],
    ),
    "TicketDetail": {
        "allOf": [
            _ref("Ticket"),
            _object({"events": {"type": "array", "items": _ref("Event")}}, ["events"]),
        ]
    },
    "TicketPage": _object(
        {
            "items": {"type": "array", "items": _ref("Ticket")},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
        ["items", "page", "pages", "total"],
    ),
    "NewTicket": _object(
        {
            "category": {"type": "string", "description": "Category code"},
            "title": {"type": "string", "maxLength": 100},
            "description": {"type": "string", "maxLength": 5000},
            "urgency": {"type": "string", "enum": ["normal", "urgent"], "default": "normal"},
            "contact_phone": _TEXT,
            "enterprise_uscc": {"type": "string", "description": "Liaisons and managers: the enterprise"},
            "channel": {
                "type": "string",
                "enum": ["phone", "tea_meeting", "roundtable", "visit"],
                "description": "Liaisons and managers: how the request reached them (enterprises: api)",
            },
        },
        ["category", "title", "description", "contact_phone"],
    ),
    "StatsSummary": _object(
        {
            **{
                name: {"type": "integer", "minimum": 0, "description": description}
                for name, description in {
                    "total": "受理量: requests created in the period, less withdrawn and merged",
                    "resolved": "办结量: of those, now resolved or closed",
                    "rated": "Requests with a rating (the latest one counts)",
                    "overdue_open": "超期未办结: open requests past their resolve deadline now",
                    "satisfied": "Latest rating satisfied",
                    "basically_satisfied": "Latest rating basically satisfied",
                    "dissatisfied": "Latest rating dissatisfied",
                    "acknowledged_on_time": "Acknowledged by their acknowledge deadline",
                    "acknowledged_late": "Acknowledged after it",
                    "acknowledged_untimed": "Acknowledged with no deadline (calendar missing): not judged",
                    "unacknowledged_overdue": "Awaiting acknowledgement past the deadline now",
                    "resolved_on_time": "Resolved by their resolve deadline",
                    "resolved_late": "Resolved after it",
                    "resolved_untimed": "Resolved with no deadline (calendar missing): not judged",
                    "reopened": "Resolved requests reopened at least once",
                    "handled": "Resolved requests with a handling time",
                    "handling_minutes_total": "Their working minutes, summed",
                    "buildings": "Active buildings (in the street/building filtered on)",
                    "covered_buildings": "Of those, with an active primary liaison",
                }.items()
            },
            **{
                name: {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": description}
                for name, description in {
                    "closure_rate": "办结率 = resolved ÷ total",
                    "satisfaction_rate": "满意率 = (satisfied + basically satisfied) ÷ rated",
                    "response_rate": "及时签收率 = acknowledged on time ÷ (acknowledged + waiting past due)",
                    "on_time_rate": "按期办结率 = resolved on time ÷ resolved",
                    "reopen_rate": "重办率 = reopened ÷ resolved",
                    "coverage": "楼宇覆盖率 = covered buildings ÷ buildings",
                }.items()
            },
            "avg_handling_hours": {
                "type": ["number", "null"],
                "description": "平均办理时长: mean working hours from submission to resolution",
            },
            "handling_hours_total": {"type": "number"},
            "from": {"type": "string", "format": "date", "description": "First day of the period"},
            "to": {"type": "string", "format": "date", "description": "Last day of the period (included)"},
        },
        [
            "total",
            "resolved",
            "closure_rate",
            "rated",
            "satisfaction_rate",
            "response_rate",
            "on_time_rate",
            "reopen_rate",
            "avg_handling_hours",
            "overdue_open",
            "coverage",
            "from",
            "to",
        ],
    ),
}

RESPONSES: dict[str, Any] = {
    name: {"description": description, "content": _json(_ref("Error"))}
    for name, description in {
        "BadRequest": "Malformed body, or invalid fields (see `fields`)",
        "Unauthorized": "No valid bearer token (a `WWW-Authenticate: Bearer` challenge is sent)",
        "Forbidden": "The caller's role may not do this",
        "NotFound": "No such request, or one the caller may not see",
        "Conflict": "The action is not allowed in the request's current state",
        "TooLarge": "The body is larger than the server accepts",
    }.items()
}

# action → (summary, who, body properties, required)
ACTIONS: dict[str, tuple[str, str, dict[str, Any], list[str]]] = {
    "acknowledge": ("签收: take responsibility", "the assignee", {}, []),
    "reply": (
        "A public reply to the enterprise",
        "assignee, department holding it, manager",
        {"body": _TEXT},
        ["body"],
    ),
    "note": ("An internal note, never shown to the enterprise", "staff", {"body": _TEXT}, ["body"]),
    "add_information": ("The enterprise adds information", "the enterprise", {"body": _TEXT}, ["body"]),
    "transfer": (
        "转办: hand to a district department",
        "the assignee, manager",
        {"department": {"type": "string", "description": "Department code"}, "note": _TEXT},
        ["department"],
    ),
    "handback": ("The department hands the request back", "department, assignee", {"body": _TEXT}, ["body"]),
    "return": ("退单: give the request back for re-dispatch", "the assignee", {"reason": _TEXT}, ["reason"]),
    "resolve": ("办结: give the answer", "assignee, department, manager", {"answer": _TEXT}, ["answer"]),
    "withdraw": ("Withdraw before resolution", "the enterprise", {"reason": _TEXT}, []),
    "rate": (
        "回访/评价: rate the answer (dissatisfied reopens the request and needs a comment)",
        "the enterprise, manager",
        {"score": {"type": "string", "enum": _SCORES}, "comment": _TEXT},
        ["score"],
    ),
    "assign": (
        "Dispatch by hand to a liaison",
        "manager",
        {"liaison": {"type": "string", "description": "Username"}, "reason": _TEXT},
        ["liaison"],
    ),
    "review_return": (
        "Accept (back to dispatch) or refuse (back to work, note required) a return",
        "manager",
        {"accept": {"type": "boolean"}, "note": _TEXT},
        ["accept"],
    ),
}

_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}


def _action_path(action: str) -> dict[str, Any]:
    summary, who, properties, required = ACTIONS[action]
    return {
        "post": {
            "operationId": f"ticket_{action}",
            "summary": summary,
            "description": f"Who may: {who}. Answers the request after the action.",
            "tags": ["actions"],
            "parameters": [_NUMBER],
            "requestBody": {"required": bool(required), "content": _json(_object(properties, required))},
            "responses": {
                "200": {"description": "The request after the action", "content": _json(_ref("Ticket"))},
                "400": _error("BadRequest"),
                "401": _error("Unauthorized"),
                "403": _error("Forbidden"),
                "404": _error("NotFound"),
                "409": _error("Conflict"),
            },
        }
    }


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1 document", "content": _json({"type": "object"})}
            },
        }
    },
    "/tokens": {
        "post": {
            "operationId": "create_token",
            "summary": "Exchange a username and password for a bearer token",
            "tags": ["tokens"],
            "security": [],
            "requestBody": {"required": True, "content": _json(_ref("TokenRequest"))},
            "responses": {
                "201": {"description": "A new token", "content": _json(_ref("Token"))},
                "400": _error("BadRequest"),
                "401": _error("Unauthorized"),
            },
        }
    },
    "/tokens/current": {
        "delete": {
            "operationId": "revoke_token",
            "summary": "Revoke the token used for this call",
            "tags": ["tokens"],
            "responses": {"204": {"description": "Revoked"}, "401": _error("Unauthorized")},
        }
    },
    "/categories": {
        "get": {
            "operationId": "list_categories",
            "summary": "Active categories, in display order, named in the request's language",
            "responses": {
                "200": {
                    "description": "Categories",
                    "content": _json({"type": "array", "items": _ref("Category")}),
                },
                "401": _error("Unauthorized"),
            },
        }
    },
    "/tickets": {
        "get": {
            "operationId": "list_tickets",
            "summary": "The requests the caller may see, newest first",
            "tags": ["tickets"],
            "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": _STATES}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {
                    "name": "per_page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
            ],
            "responses": {
                "200": {"description": "One page", "content": _json(_ref("TicketPage"))},
                "400": _error("BadRequest"),
                "401": _error("Unauthorized"),
            },
        },
        "post": {
            "operationId": "create_ticket",
            "summary": "File a request (enterprise) or record one on its behalf (liaison, manager)",
            "tags": ["tickets"],
            "requestBody": {"required": True, "content": _json(_ref("NewTicket"))},
            "responses": {
                "201": {
                    "description": "The new request",
                    "headers": {"Location": {"schema": {"type": "string"}, "description": "Its URL"}},
                    "content": _json(_ref("Ticket")),
                },
                "400": _error("BadRequest"),
                "401": _error("Unauthorized"),
                "403": _error("Forbidden"),
                "413": _error("TooLarge"),
            },
        },
    },
    "/tickets/{number}": {
        "get": {
            "operationId": "get_ticket",
            "summary": "One request with its timeline (public events only for an enterprise)",
            "tags": ["tickets"],
            "parameters": [_NUMBER],
            "responses": {
                "200": {"description": "The request", "content": _json(_ref("TicketDetail"))},
                "401": _error("Unauthorized"),
                "404": _error("NotFound"),
            },
        }
    },
    **{f"/tickets/{{number}}/{action}": _action_path(action) for action in ACTIONS},
    "/stats/summary": {
        "get": {
            "operationId": "stats_summary",
            "summary": "The dashboard's figures for the requests created in a period (managers, admins)",
            "description": "A cohort: requests created from `from` to `to` (both local Asia/Shanghai days, "
            "`to` included), less withdrawn and merged ones. Rates are in [0, 1] and null when their "
            "denominator is 0. Requests whose deadline was never set (the working-day calendar lacked "
            "the year) are left out of the two timeliness rates and counted in `*_untimed`.",
            "tags": ["stats"],
            "parameters": [
                {
                    "name": "from",
                    "in": "query",
                    "schema": {"type": "string", "format": "date"},
                    "description": "YYYY-MM-DD; default 1 January of `to`'s year, or of this year",
                },
                {
                    "name": "to",
                    "in": "query",
                    "schema": {"type": "string", "format": "date"},
                    "description": "YYYY-MM-DD, included; default 31 December of `from`'s year or this year",
                },
                {"name": "street", "in": "query", "schema": _TEXT, "description": "Street code"},
                {
                    "name": "building",
                    "in": "query",
                    "schema": {"type": "integer"},
                    "description": "Building id",
                },
                {"name": "category", "in": "query", "schema": _TEXT, "description": "Category code"},
                {"name": "channel", "in": "query", "schema": {"type": "string", "enum": _CHANNELS}},
                {"name": "liaison", "in": "query", "schema": _TEXT, "description": "Assignee's username"},
            ],
            "responses": {
                "200": {"description": "The figures", "content": _json(_ref("StatsSummary"))},
                "400": _error("BadRequest"),
                "401": _error("Unauthorized"),
                "403": _error("Forbidden"),
            },
        }
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "企呼我应 API",
            "version": "1.0.0",
            "description": "Requests (诉求) of enterprises to the district service hotline. Errors are "
            '`{"error": {"code", "message", "fields"}}`; messages follow `Accept-Language` (zh, en).',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }

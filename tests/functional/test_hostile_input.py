"""No input, however hostile, is a 500: every route of the application, walked with hostile path values,
query strings and bodies, as an anonymous visitor and as each kind of user.

The test database is SQLite, which stores a NUL and has no 64-bit limit on what it is handed in a query;
PostgreSQL refuses both (FACTS.md).  While the walk runs, a statement whose parameters PostgreSQL would
refuse fails here too, so what passes here cannot be a 500 in production either.

Time is frozen on Tuesday 16 June 2026, 10:00 in Shanghai, with 2026 in the calendar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import BigInteger, Integer, String, event, select
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from hotline.extensions import db
from hotline.notifications.models import Notification
from hotline.sla import services as sla
from hotline.urls import BoundedInt
from tests import factories
from tests.factories import World
from tests.helpers import csrf_token, login, post_form

NOW = datetime(2026, 6, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
# the administrator passes wherever a manager does, and has the user pages besides
ROLES = ["anonymous", "contact", "liaison", "manager", "admin"]
# the last ones end the session or revoke the token the walk is made with
LAST = ("api.revoke_current_token", "auth.logout")

HUGE = "9" * 20
LONG = "x" * 10_000
PATH_VALUES = [HUGE, "-1", "0", "%00", "abc", LONG]
QUERIES = [
    f"page={HUGE}",
    "page=-1",
    "page=abc",
    "q=%00",
    "per_page=1000000",
    "page=1000000",  # in range, past the last page
    # what the other lists, figures and exports read, all out of range at once
    f"year={HUGE}&from=99999-99-99&to=-1&state=abc&sort=abc&dir=abc&figure=abc&show=abc&what=abc&unread=abc"
    f"&period=abc&category={HUGE}&street={HUGE}&department=%FF&lang=abc&next=//evil.example",
]
QUERIES_OF_ACTIONS = [f"page={HUGE}", "q=%00"]  # a POST reads its body: two are enough
# every field of every form at once, so the text stays under MAX_FORM_MEMORY_SIZE and reaches the view
FORM_VALUES = ["a\x00b", HUGE, str(2**40), "-1", "x" * 4_000]
# "\ud800" (a lone surrogate, which JSON may escape) cannot even be encoded for the database
JSON_VALUES: list[Any] = ["a\x00b", "a\ud800b", 2**70, -1, LONG, {"a": [None]}]
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
ROUTE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
TRACEBACK = "Traceback (most recent call last)"


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


# raw bodies, built once: a nested structure, a 1,000-deep one, a 2 MB string, one past the limit, not JSON
TOO_LARGE = json.dumps({"a": "x" * (MAX_CONTENT_LENGTH + 1)}).encode()
RAW_JSON = [
    json.dumps({"a": {"b": [[[[[[{"c": [[[[[[[[[[1]]]]]]]]]]}]]]]]]}}).encode(),
    _nested(1_000),
    json.dumps({"a": "x" * 2 * 1024 * 1024}).encode(),
    TOO_LARGE,
    b"\xff\xfe not json",
]


class PostgresWouldRefuse(Exception):
    """A parameter that PostgreSQL refuses (a 500 there) reached the database."""


def _refused_in_any_statement(value: Any) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return "NUL in a text parameter"
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return f"an integer past 64 bits: {value}"
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return next((reason for v in value if (reason := _refused_in_any_statement(v))), None)
    return None


def _refused_in_a_column(context: Any) -> str | None:
    """What an INSERT or UPDATE writes that its column cannot hold in PostgreSQL (SQLite takes anything)."""
    binds = context.compiled.binds
    for parameters in context.compiled_parameters:
        for key, value in parameters.items():
            kind = getattr(binds.get(key), "type", None)
            too_long = isinstance(kind, String) and kind.length and isinstance(value, str)
            if too_long and len(value) > kind.length:
                return f"{len(value)} characters for {key} ({kind})"
            int32 = isinstance(kind, Integer) and not isinstance(kind, BigInteger)
            if int32 and isinstance(value, int) and not INT32[0] <= value <= INT32[1]:
                return f"{value} for {key} ({kind})"
    return None


@pytest.fixture
def like_postgres(app: Flask) -> Iterator[None]:
    """While the test runs, what PostgreSQL would refuse fails on SQLite too."""

    def check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        reason = _refused_in_any_statement(parameters)
        writes = (
            context is not None and context.compiled is not None and (context.isinsert or context.isupdate)
        )
        if reason is None and writes:
            reason = _refused_in_a_column(context)
        if reason:
            raise PostgresWouldRefuse(f"{reason}: {statement[:200]}")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", check)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", check)


@pytest.fixture
def district(app: Flask, world: World) -> Iterator[dict[str, str]]:
    """Time frozen, the 2026 calendar, a request in progress with an extension waiting; real path values."""
    with time_machine.travel(NOW, tick=False):
        sla.sync_calendar_from_package(NOW, years=[2026])
        ticket = world.in_progress(NOW)
        extension = sla.request_extension(ticket.id, world.liaison, 3, "需协调区住建委现场勘查", NOW)
        db.session.commit()
        notification = db.session.scalar(
            select(Notification.id).where(Notification.user_id == world.liaison.id)
        )
        yield {
            "number": ticket.number,
            "action": "acknowledge",
            "enterprise_id": str(world.enterprise.id),
            "user_id": str(world.contact.id),
            "category_id": str(world.category.id),
            "extension_id": str(extension.id),
            "notification_id": str(notification or 1),
            "year": "2026",
            "day": "2026-06-17",
            "uscc": world.enterprise.uscc,
            "code": "en",
            "fmt": "csv",
            "filename": "css/hotline.css",
        }


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _json_fields() -> set[str]:
    """Every field name of the API's schemas (which name every field of the lifecycle's actions too)."""
    return {
        declared.data_key or name
        for schema in _subclasses(ma.Schema)
        if schema.__module__.startswith(("hotline", "marshmallow"))  # ``from_dict`` schemas: marshmallow's
        for name, declared in getattr(schema, "_declared_fields", {}).items()
    }


def _form_fields() -> set[str]:
    """Every field name of the application's forms, and of the actions' forms (built when needed)."""
    declared = {
        name
        for form in _subclasses(FlaskForm)
        if form.__module__.startswith("hotline")
        for name, value in vars(form).items()
        if isinstance(value, UnboundField)
    }
    return (declared | _json_fields()) - {"csrf_token"}


@dataclass
class Walk:
    client: FlaskClient
    headers: dict[str, str]
    failures: list[str] = field(default_factory=list)
    count: int = 0

    def call(self, method: str, url: str, **kwargs: Any) -> int | None:
        """The status of the answer (None if the call raised: in production, a 500)."""
        self.count += 1
        try:
            response = self.client.open(url, method=method, headers=self.headers, **kwargs)
        except Exception as error:
            db.session.rollback()
            self.failures.append(f"{method} {url[:120]}: {type(error).__name__}: {str(error)[:300]}")
            return None
        body = response.get_data(as_text=True)
        response.close()  # a static file is streamed from an open file
        # /readyz answers 503 by design while no worker or beat runs (as here): unready, not a crash
        unready = url.startswith("/readyz") and response.status_code == 503
        if (response.status_code >= 500 and not unready) or TRACEBACK in body:
            self.failures.append(f"{method} {url[:120]}: {response.status_code} {body[:300]}")
        return response.status_code


def _url(rule: Rule, values: dict[str, str]) -> str:
    return ROUTE.sub(lambda m: values.get(m.group(1), "1"), rule.rule)


def _rules(app: Flask) -> list[Rule]:
    """Every rule, the ones that end the walk's session last."""
    return sorted(
        app.url_map.iter_rules(), key=lambda r: (LAST.index(r.endpoint) if r.endpoint in LAST else -1, r.rule)
    )


def _bearer(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _sign_in(client: FlaskClient, role: str, world: World) -> tuple[dict[str, str], str]:
    """The bearer header and a CSRF token of ``role``'s session."""
    if role == "anonymous":
        return {}, csrf_token(_text(client.get("/login")))
    username = getattr(world, role).username
    login(client, username)
    return _bearer(client, username), csrf_token(_text(client.get("/account")))


def _in_english(client: FlaskClient) -> None:
    assert client.get("/lang/en").status_code == 302  # kept in the session


def test_ids_past_64_bits_and_control_characters_in_a_path_name_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    assert app.url_map.converters["int"] is BoundedInt, (
        "hotline.urls.init_app(app) is missing from create_app"
    )
    login(client, world.manager.username)
    for url in (f"/enterprises/{HUGE}", f"/enterprises/{2**63}", "/manage/categories/" + "9" * 5_000):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/enterprises/{2**63 - 1}").status_code == 404  # the largest id: no such row
    assert client.get(f"/enterprises/{world.enterprise.id}").status_code == 200
    page = _text(client.get("/notifications/"))
    assert (
        client.post(f"/notifications/{HUGE}/read", data={"csrf_token": csrf_token(page)}).status_code == 404
    )
    assert client.get("/tickets/QH2026%000101-0001").status_code == 404
    headers = _bearer(client, world.manager.username)
    assert client.get(f"/api/v1/calendar/{HUGE}", headers=headers).get_json()["error"]["code"] == "not_found"
    missing = client.get("/api/v1/tickets/QH2026%000101-0001", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_a_page_number_out_of_range_is_a_400_page_and_past_the_last_page_is_as_before(
    client: FlaskClient, world: World
) -> None:
    login(client, world.manager.username)
    _in_english(client)
    for query in (
        "page=0",
        "page=-1",
        "page=abc",
        f"page={HUGE}",
        "page=",
        "page=1.5",
        "page=%2B1",
        "page=1000001",
    ):
        response = client.get(f"/manage/tickets?{query}")
        assert response.status_code == 400, query
        assert "This page number is not valid." in _text(response), query
    for query in ("per_page=0", "per_page=101", f"per_page={HUGE}"):
        assert client.get(f"/notifications/?{query}").status_code == 400, query
    assert client.get("/manage/tickets?page=1&per_page=100").status_code == 200
    # in range but past the last page: each list answers as it did (the 404 page, or an empty page)
    assert client.get("/manage/tickets?page=1000000").status_code == 404
    assert client.get("/enterprises/?page=1000000").status_code == 200
    # the API checks its own, and says which field in its own shape
    refused = client.get("/api/v1/tickets?page=0", headers=_bearer(client, world.manager.username))
    assert refused.status_code == 400 and "page" in refused.get_json()["error"]["fields"]


NOT_ALLOWED = "What you sent contains characters that are not allowed."


def test_control_characters_are_a_400_page_before_the_database(
    client: FlaskClient, world: World, like_postgres: None
) -> None:
    _in_english(client)
    page = _text(client.get("/login"))
    response = client.post(
        "/login", data={"username": "admin\x00", "password": "x", "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 400 and NOT_ALLOWED in _text(response)
    for query in ("next=%00", "next=/portal/%0A", "q=%7F", "a%00=1"):  # no line break in a query string
        response = client.get(f"/login?{query}")
        assert response.status_code == 400 and NOT_ALLOWED in _text(response), query
    # the API says which field, in its own shape; half a surrogate pair is no character either
    body = b'{"username": "admin\\ud800", "password": "x"}'
    refused = client.post("/api/v1/tokens", data=body, content_type="application/json")
    assert refused.status_code == 400 and "username" in refused.get_json()["error"]["fields"]

    login(client, world.contact.username)
    _in_english(client)
    ticket = {
        "category": world.category.code,
        "title": "办公楼停车位不足",
        "urgency": "normal",
        "contact_phone": "13800138000",
    }
    refused = post_form(client, "/portal/new", "/portal/new", {**ticket, "description": "停车\x00困难"})
    assert refused.status_code == 400 and NOT_ALLOWED in _text(refused)
    # a textarea may break lines
    filed = post_form(
        client, "/portal/new", "/portal/new", {**ticket, "description": "停车困难。\r\n\t希望协调。"}
    )
    assert filed.status_code == 302


@pytest.mark.parametrize("role", ROLES)
def test_no_hostile_input_is_a_500(
    app: Flask, client: FlaskClient, world: World, district: dict[str, str], like_postgres: None, role: str
) -> None:
    # an address of the walk's own: the failed logins it makes are throttled, but never another test's
    client.environ_base["REMOTE_ADDR"] = f"203.0.113.{ROLES.index(role) + 1}"
    headers, csrf = _sign_in(client, role, world)
    walk = Walk(client, headers)
    form_fields = sorted(_form_fields())
    json_fields = sorted(_json_fields())
    assert form_fields and json_fields

    forms_answered: set[int | None] = set()  # the statuses of the pages' forms
    for rule in _rules(app):
        api = rule.rule.startswith("/api/")
        for method in sorted((rule.methods or set()) & {"GET", "POST", "PUT", "PATCH", "DELETE"}):
            for name in rule.arguments:
                for value in PATH_VALUES:
                    walk.call(method, _url(rule, {**district, name: value}))
            url = _url(rule, district)
            for query in QUERIES if method == "GET" else QUERIES_OF_ACTIONS:
                walk.call(method, f"{url}?{query}")
            if method not in ("POST", "PUT", "PATCH"):
                continue
            # the API reads JSON, the pages read forms: each gets all of its own kind, one of the other
            for value in JSON_VALUES if api else JSON_VALUES[:1]:
                walk.call(method, url, json=dict.fromkeys(json_fields, value))
            for raw in RAW_JSON if api else [TOO_LARGE]:
                walk.call(method, url, data=raw, content_type="application/json")
            for value in FORM_VALUES[:1] if api else FORM_VALUES:
                status = walk.call(
                    method, url, data={**dict.fromkeys(form_fields, value), "csrf_token": csrf}
                )
                forms_answered.add(None if api else status)
            if not api:
                walk.call(method, url, data={"csrf_token": csrf, "a\x00b": "1"})

    assert not walk.failures, f"{len(walk.failures)} of {walk.count} calls failed:\n" + "\n".join(
        walk.failures[:40]
    )
    # the token was good: some forms got past the CSRF check (400) to their views
    assert forms_answered - {None, 400}, forms_answered

"""Login throttling as production runs it: gunicorn with two worker processes, the counts in Redis.

Each worker process has its own memory, so a limit that holds at exactly its number of failures across both
proves the counts are shared (in memory each process would let through its own ten).  Bounded: a few dozen
attempts.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import redis
from limits import parse
from sqlalchemy import select

from tests import factories
from tests.integration.conftest import FIGURES, Hotline, Processes, RedisServer

WRONG = "wrong-pass-123"


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read() or b"{}")


def _usernames(hotline: Hotline, count: int) -> list[str]:
    from hotline.auth.models import User

    ids = hotline.district.contact_ids[:count]
    rows = hotline.rows(select(User.id, User.username).where(User.id.in_(ids)))
    by_id = dict(rows)  # type: ignore[arg-type]
    return [by_id[i] for i in ids]


def _page_login(base: str, username: str, password: str) -> int:
    """Log in on the page, as a browser does (its CSRF token, its cookie); the status of the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login", timeout=10) as page:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode())
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token.group(1)})
    try:
        with opener.open(base + "/login", data=form.encode(), timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_failed_logins_are_counted_across_gunicorn_workers_in_redis(
    hotline: Hotline, processes: Processes, private_redis: RedisServer
) -> None:
    web = processes.web("web", workers=2)
    victim, other = _usernames(hotline, 2)
    allowed = parse(hotline.app.config["THROTTLE_LOGIN_PER_ACCOUNT"]).amount
    tokens = web.url + "/api/v1/tokens"

    statuses = [_post_json(tokens, {"username": victim, "password": WRONG})[0] for _ in range(allowed)]
    assert statuses == [401] * allowed  # each wrong password refused as wrong, not yet throttled

    started = time.monotonic()
    status, headers, body = _post_json(tokens, {"username": victim, "password": factories.PASSWORD})
    assert status == 429, (status, body)  # even the right password waits: the account is being guessed
    retry_after = int(headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert body["error"]["code"] == "too_many_requests" and body["error"]["message"]
    # the login page shares the account's count: a browser is refused too
    assert _page_login(web.url, victim, factories.PASSWORD) == 429

    # another account, from the same address, is not held up by these failures
    status, _headers, body = _post_json(tokens, {"username": other, "password": factories.PASSWORD})
    assert status == 201 and body["token"]

    client = redis.Redis(port=private_redis.port)
    try:
        keys = [k.decode() for k in client.scan_iter("*account:*")]
    finally:
        client.close()
    # the counts live in Redis, shared by the workers
    assert any(f"account:{victim.casefold()}" in key for key in keys), keys

    FIGURES.append(
        f"throttle: {allowed} wrong passwords over 2 gunicorn workers → attempt {allowed + 1} answered 429 "
        f"(page and API), Retry-After {retry_after} s, other account unaffected "
        f"({(time.monotonic() - started) * 1000:.0f} ms for the refused and allowed checks)"
    )

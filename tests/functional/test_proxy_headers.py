"""Behind the TLS-terminating proxy (docker-compose.yml): the client's address and scheme, and HSTS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, request

from hotline import create_app
from hotline.security import HSTS
from tests.helpers import test_config

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "localhost"}


def _app(**overrides: object) -> Iterator[Flask]:
    app = create_app(test_config(**overrides))

    @app.get("/_test/peer")
    def peer() -> dict[str, object]:
        return {"address": request.remote_addr, "secure": request.is_secure}

    yield app


@pytest.fixture
def proxied() -> Iterator[Flask]:
    yield from _app(TRUSTED_PROXIES=1, HSTS=True)


@pytest.fixture
def direct() -> Iterator[Flask]:
    yield from _app(TRUSTED_PROXIES=0, HSTS=True)


def test_behind_the_proxy_the_client_address_and_https_are_believed_and_hsts_sent(proxied: Flask) -> None:
    answer = proxied.test_client().get("/_test/peer", headers=FORWARDED)
    assert answer.get_json() == {"address": "203.0.113.9", "secure": True}
    assert answer.headers["Strict-Transport-Security"] == HSTS


def test_plain_http_through_the_proxy_gets_no_hsts(proxied: Flask) -> None:
    answer = proxied.test_client().get("/_test/peer", headers={**FORWARDED, "X-Forwarded-Proto": "http"})
    assert answer.get_json()["secure"] is False
    assert "Strict-Transport-Security" not in answer.headers


def test_with_no_trusted_proxy_forwarded_headers_cannot_forge_the_address(direct: Flask) -> None:
    answer = direct.test_client().get("/_test/peer", headers=FORWARDED)
    assert answer.get_json() == {"address": "127.0.0.1", "secure": False}
    assert "Strict-Transport-Security" not in answer.headers


def test_hsts_is_on_in_production_and_off_in_the_embedded_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline import config

    monkeypatch.setenv("HOTLINE_ENV", "production")
    assert config.load()["HSTS"] is True
    monkeypatch.setenv("HOTLINE_ENV", "development")
    assert config.load()["HSTS"] is False


def test_forwarded_headers_from_a_peer_outside_the_trusted_networks_are_ignored() -> None:
    """A proxy count alone is not trust: a client reaching gunicorn directly cannot forge its address."""
    for app in _app(TRUSTED_PROXIES=1, TRUSTED_PROXY_NETWORKS="10.0.0.0/8", HSTS=True):
        forged = app.test_client().get("/_test/peer", headers=FORWARDED)  # the test client is 127.0.0.1
        assert forged.get_json() == {"address": "127.0.0.1", "secure": False}
        relayed = app.test_client().get(
            "/_test/peer", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.1.2.3"}
        )
        assert relayed.get_json() == {"address": "203.0.113.9", "secure": True}

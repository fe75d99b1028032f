"""Response headers: a strict Content-Security-Policy (no inline script, nothing from other hosts), no caching
of personal answers, HSTS over HTTPS; and the client's address and scheme behind a reverse proxy.

Every page a logged-in user sees and every API answer (which needs a token, except the document and the token
call itself) may carry personal data: ``Cache-Control: no-store`` keeps them out of shared and browser caches
(a government office's shared computers, a proxy). Static assets and the public summary stay cacheable.

Production runs behind a TLS-terminating reverse proxy (docker-compose.yml: Caddy). ``TRUSTED_PROXIES`` is the
number of proxies in front of the app: that many ``X-Forwarded-For`` / ``-Proto`` / ``-Host`` values are
believed (Werkzeug's ``ProxyFix``) when the request comes from an address in ``TRUSTED_PROXY_NETWORKS`` (the
proxy's; loopback by default, the compose network in docker-compose.yml), so ``request.remote_addr`` is the
client's (the login throttle counts per client address) and ``request.is_secure`` tells an HTTPS client. With
0 (the default) the headers are ignored: a client cannot forge its address. ``HSTS`` (on in production) sends
``Strict-Transport-Security`` on every answer that reached the client over HTTPS; the proxy sends it too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CACHEABLE_API = ("/api/v1/openapi.json",)
# a year, as the HSTS preload list asks; every host under the district's domain is HTTPS too
HSTS = "max-age=31536000; includeSubDomains"


def is_personal(path: str, logged_in: bool) -> bool:
    """Whether the answer for ``path`` may carry personal data (and so must not be stored by any cache)."""
    if path.startswith("/static/"):
        return False
    if path.startswith("/api/"):
        return path not in CACHEABLE_API
    return logged_in


class TrustedProxyFix:
    """Werkzeug's ``ProxyFix`` for requests whose direct peer is a trusted proxy; any other client's
    ``X-Forwarded-*`` headers are ignored (a client reaching gunicorn directly cannot forge its address)."""

    def __init__(self, app: WSGIApplication, hops: int, networks: str) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
        self.networks = tuple(ipaddress.ip_network(n.strip()) for n in networks.split(",") if n.strip())

    def _trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._trusted(str(environ.get("REMOTE_ADDR", ""))):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, proxies, str(app.config.get("TRUSTED_PROXY_NETWORKS") or "")
        )

    @app.after_request
    def set_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure and current_app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        logged_in = bool(getattr(current_user, "is_authenticated", False))
        already = "no-store" in response.headers.get("Cache-Control", "")  # e.g. "private, no-store" exports
        if is_personal(request.path, logged_in) and not already:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

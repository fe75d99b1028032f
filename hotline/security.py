"""Response headers: a strict Content-Security-Policy (no inline script, nothing from other hosts), no
caching of personal answers, HSTS over HTTPS; and the client's address and scheme behind a reverse proxy.

Every page a logged-in user sees and every API answer (which needs a token, except the document and the token
call itself) may carry personal data: ``Cache-Control: no-store`` keeps them out of shared and browser caches
(a government office's shared computers, a proxy).  Static assets and the public summary stay cacheable.

Production runs behind a TLS-terminating reverse proxy (docker-compose.yml: Caddy).  ``TRUSTED_PROXIES`` is
the number of proxies in front of the app: that many ``X-Forwarded-For`` / ``-Proto`` / ``-Host`` values are
believed (Werkzeug's ``ProxyFix``), so ``request.remote_addr`` is the client's (the login throttle counts per
client address) and ``request.is_secure`` tells an HTTPS client.  With 0 (the default) the headers are
ignored: a client cannot forge its address.  ``HSTS`` (on in production) sends ``Strict-Transport-Security``
on every answer that reached the client over HTTPS; the proxy sends it too.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

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


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
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

"""Response headers: a strict Content-Security-Policy (no inline script, nothing from other hosts), and no
caching of personal answers.

Every page a logged-in user sees and every API answer (which needs a token, except the document and the token
call itself) may carry personal data: ``Cache-Control: no-store`` keeps them out of shared and browser caches
(a government office's shared computers, a proxy).  Static assets and the public summary stay cacheable.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CACHEABLE_API = ("/api/v1/openapi.json",)


def is_personal(path: str, logged_in: bool) -> bool:
    """Whether the answer for ``path`` may carry personal data (and so must not be stored by any cache)."""
    if path.startswith("/static/"):
        return False
    if path.startswith("/api/"):
        return path not in CACHEABLE_API
    return logged_in


def init_app(app: Flask) -> None:
    @app.after_request
    def set_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        logged_in = bool(getattr(current_user, "is_authenticated", False))
        already = "no-store" in response.headers.get("Cache-Control", "")  # e.g. "private, no-store" exports
        if is_personal(request.path, logged_in) and not already:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

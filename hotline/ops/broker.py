"""One Redis client per URL and process for the broker check: a PING per ``/readyz`` over a pooled socket."""

from __future__ import annotations

import threading

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_clients: dict[tuple[str, float], redis.Redis] = {}
_lock = threading.Lock()


def client(url: str, timeout: float) -> redis.Redis:
    """A client of ``url`` whose connect and every command give up after ``timeout`` seconds."""
    key = (url, timeout)
    with _lock:
        if key not in _clients:
            _clients[key] = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),  # one try: a readiness probe must answer within its timeout
            )
        return _clients[key]

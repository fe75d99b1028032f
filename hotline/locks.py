"""Locks for periodic jobs, so that two beats (or a slow run and the next one) never overlap.

With ``REDIS_URL`` set — in production, and in the embedded run, whose ``make run`` exports the URL of its
private Redis server — the lock is a Redis lock with a timeout (it frees itself if its holder dies).  A
process given no ``REDIS_URL`` (the unit tests, a worker started by hand) takes an ``flock`` on a file in the
instance folder instead (the kernel frees it when the holder's process dies): such a process never shares,
or waits on, the locks of a ``make run`` on the same machine.  A job that cannot take its lock returns at
once: the next tick runs it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from flask import current_app
from redis.exceptions import LockError

log = logging.getLogger(__name__)

KEY_PREFIX = "hotline:lock:"

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _redis(url: str) -> redis.Redis:
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            _clients[url] = client
        return client


@contextmanager
def job_lock(name: str, timeout: float) -> Iterator[bool]:
    """Try to take the lock ``name`` without waiting; yields whether it was taken.

    ``timeout`` (seconds) bounds how long a Redis lock outlives a holder that died: make it at least the
    job's time limit.
    """
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        with _redis_lock(redis_url, name, timeout) as held:
            yield held
    else:
        with _file_lock(name) as held:
            yield held


@contextmanager
def _redis_lock(url: str, name: str, timeout: float) -> Iterator[bool]:
    lock = _redis(url).lock(KEY_PREFIX + name, timeout=timeout, blocking=False)
    held = bool(lock.acquire(blocking=False))
    try:
        yield held
    finally:
        if held:
            try:
                lock.release()
            except LockError:  # it expired while the job ran: another run may have taken it since
                log.warning("lock %s expired before the job ended (timeout %ss)", name, timeout)


@contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    folder = os.path.join(current_app.config["INSTANCE_DIR"], "locks")
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, f"{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

"""The Celery application, bound to the Flask app so that every task runs in an app context.

Start a worker with embedded beat (embedded default)::

    celery -A worker.app worker -B --loglevel=info
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from flask import Flask

from hotline import create_app
from worker.schedule import BEAT_SCHEDULE


def _ensure_broker_folders(settings: dict[str, Any]) -> None:
    """kombu's filesystem transport needs its folders to exist before the first publish."""
    options = settings.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


def make_celery(flask_app: Flask) -> Celery:
    _ensure_broker_folders(flask_app.config["CELERY"])

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(flask_app.name, task_cls=FlaskTask)
    celery.config_from_object(flask_app.config["CELERY"])
    celery.conf.beat_schedule = BEAT_SCHEDULE
    celery.conf.include = ["worker.tasks"]
    celery.set_default()
    flask_app.extensions["celery"] = celery
    return celery


flask_app = create_app()
app = make_celery(flask_app)

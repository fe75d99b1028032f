"""Celery side of the hotline: the app bound to Flask, the beat schedule, thin task modules."""

"""The Flower process: ``celery -A services.flower flower --port=$PORT --address=0.0.0.0``.

Outside development Flower refuses to start without ``FLOWER_PASSWORD``; the basic-auth pair is
composed here from ``FLOWER_USER`` (a fixed name) and ``FLOWER_PASSWORD`` (Render generates it),
because Flower itself reads one ``FLOWER_BASIC_AUTH=user:pass`` variable. ``/healthcheck`` and
``/metrics`` are served without auth by Flower: use the first as the platform health path, and
keep the service private if the second must not be public.
"""

import os

from services.bootstrap import bootstrap
from services.celery_app import create_app

settings = bootstrap("flower")
if settings.flower_password is not None:
    os.environ["FLOWER_BASIC_AUTH"] = f"{settings.flower_user}:{settings.flower_password.get_secret_value()}"
app = create_app(settings, process="flower")

__all__ = ["app", "settings"]

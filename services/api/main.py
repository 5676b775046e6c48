"""The ASGI application: ``gunicorn services.api.main:app -c services/api/gunicorn_conf.py``.

Importing this module validates the web process's settings (exiting with one JSON line naming
every missing or invalid variable) and configures logging; the app itself comes from
:func:`services.api.app.create_app` and connects to nothing until its lifespan starts.
"""

from __future__ import annotations

from services.api.app import create_app
from services.bootstrap import bootstrap

settings = bootstrap("web")
app = create_app(settings)

"""The yardstick of ``benchmarks/api.py``: FastAPI serving a fixed page, nothing else.

Served by the same gunicorn command and settings as Vigia's web (services/api/gunicorn_conf.py),
it answers ``GET /page`` with the bytes of a real first page of ``/api/v1/investigations``
(the file named by ``VIGIA_BENCH_BARE_PAGE``), from a plain ``def`` route as Vigia's are, so the
difference between the two is what Vigia does per request: the database, the models, the
middleware and the rate limiter.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response

PAGE = Path(os.environ["VIGIA_BENCH_BARE_PAGE"]).read_bytes()

app = FastAPI()


@app.get("/page")
def page() -> Response:
    return Response(PAGE, media_type="application/json")

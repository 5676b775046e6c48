"""The web process: FastAPI served by gunicorn with uvicorn workers (see ``gunicorn_conf.py``)."""

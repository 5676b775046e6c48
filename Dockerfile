# One image for every Vigia process: the API (default command), the worker, the beat and Flower.
# Used by docker-compose.workers.yml, by Railway (its start commands override CMD) and by a
# Hugging Face Space (Docker SDK), which runs the default command, the API, on port 7860.
#
#   docker build -t vigia .
#   docker run --env-file .env -p 7860:7860 vigia                       # the API
#   docker run --env-file .env vigia celery -A services.beat -q beat     # any Procfile command

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv
RUN python -m venv /opt/venv && /opt/venv/bin/pip install "uv>=0.5,<1"
WORKDIR /app
# Dependencies first, from the lock, so a code change does not reinstall them.
COPY requirements.lock ./
RUN /opt/venv/bin/uv pip install --python /opt/venv/bin/python --no-cache -r requirements.lock
COPY . .
# Editable: supabase/migrations/ stays beside the code, where `vigia migrate` finds it.
RUN /opt/venv/bin/uv pip install --python /opt/venv/bin/python --no-cache --no-deps -e . \
    && /opt/venv/bin/pip uninstall --yes uv

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    ENVIRONMENT=production \
    PORT=7860
# Hugging Face Spaces run containers as uid 1000; every other platform accepts it too.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin vigia
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=vigia:vigia /app /app
WORKDIR /app
USER vigia
EXPOSE 7860
CMD ["gunicorn", "services.api.main:app", "-c", "services/api/gunicorn_conf.py"]

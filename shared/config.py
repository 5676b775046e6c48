"""Every environment variable Vigia reads, in one pydantic-settings class.

Field names are the environment variable names (case-insensitive). Secrets are ``SecretStr`` so
they never print. Read settings through :func:`get_settings`; tests override with
:func:`override_settings`. In ``ENVIRONMENT=production`` a process calls :func:`require` with its
role and refuses to start with one message that names every missing or invalid variable.

``.env.example`` lists every field with a comment; ``tests/unit/test_config.py`` keeps the two equal.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PORTAL_DEFAULT_URL = "https://api.portaldatransparencia.gov.br/api-de-dados"
GROQ_DEFAULT_URL = "https://api.groq.com"
# Groq shut llama-3.3-70b-versatile down on 2026-08-16 and names this as its replacement
# (console.groq.com/docs/deprecations).
GROQ_DEFAULT_MODEL = "openai/gpt-oss-120b"

# Shorter API keys are refused in production: a key is the whole of the API's write protection.
MIN_API_KEY_LENGTH = 16
# Values people leave in a copied .env; outside development they count as missing.
_PLACEHOLDERS = {"", "changeme", "change-me", "xxx", "todo", "your-key", "secret", "password"}

Process = Literal["web", "worker", "beat", "flower", "release", "cli"]
# The processes ENABLE_CELERY_WORKERS=false switches off (the web then investigates on demand itself).
CELERY_PROCESSES: frozenset[str] = frozenset({"worker", "beat", "flower"})


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        # VIGIA_ENV_FILE= (empty) ignores .env, as the test suite does.
        env_file=os.environ.get("VIGIA_ENV_FILE", ".env") or None,
        env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        # `KEY=` lines of a .env copied from .env.example (Compose env_file, the VPS installer)
        # mean "not set", not an empty secret that would switch off the simulator or Sentry.
        env_ignore_empty=True,
    )

    # --- deployment (names from the reference deployment guide) ---
    # Fail closed: a process started without ENVIRONMENT gets production's checks. `vigia dev`
    # (and so `make run`) sets development for the processes it starts.
    environment: Literal["development", "test", "production"] = "production"
    enable_celery_workers: bool = True
    sentry_dsn: SecretStr | None = None

    # --- logging ---
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # --- storage: DATABASE_URL (direct PostgreSQL) or Supabase REST ---
    database_url: SecretStr | None = None
    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    db_pool_min_size: int = Field(default=1, ge=0, le=50)
    db_pool_max_size: int = Field(default=5, ge=1, le=100)
    db_statement_timeout_ms: int = Field(default=60_000, ge=100)

    # --- broker ---
    redis_url: SecretStr | None = None
    redis_ssl_cert_reqs: Literal["required", "optional", "none"] = "required"

    # --- Portal da Transparência ---
    transparency_api_key: SecretStr | None = None
    transparency_api_url: str = PORTAL_DEFAULT_URL
    portal_timeout_seconds: float = Field(default=30.0, gt=0)
    portal_max_retries: int = Field(default=5, ge=0, le=20)
    portal_rate_day_per_min: int = Field(default=90, ge=1)
    portal_rate_night_per_min: int = Field(default=300, ge=1)
    portal_night_start_hour: int = Field(default=0, ge=0, le=23)
    portal_night_end_hour: int = Field(default=6, ge=0, le=24)
    portal_429_cooldown_seconds: int = Field(default=300, ge=0)
    portal_429_rate_factor: float = Field(default=0.5, gt=0, le=1)
    portal_breaker_failures: int = Field(default=5, ge=1)
    portal_breaker_reset_seconds: int = Field(default=120, ge=1)

    # --- what to watch and when ---
    timezone: str = "America/Sao_Paulo"
    watched_orgaos: Annotated[CsvList, Field(default_factory=list)]
    priority_orgaos: Annotated[CsvList, Field(default_factory=list)]
    monitor_lookback_hours: int = Field(default=6, ge=1)
    priority_lookback_hours: int = Field(default=4, ge=1)
    reanalysis_months: int = Field(default=6, ge=1, le=60)
    stuck_investigation_minutes: int = Field(default=60, ge=1)

    # --- LLM summaries ---
    groq_api_key: SecretStr | None = None
    groq_model: str = GROQ_DEFAULT_MODEL
    groq_api_url: str = GROQ_DEFAULT_URL
    groq_timeout_seconds: float = Field(default=20.0, gt=0)

    # --- worker ---
    # One pool process keeps worker + beat within 256 MB (docs/performance.md, Footprint); the Portal's rate
    # limit, not CPU, bounds a sweep, so a second process buys little on the smallest plans.
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    task_soft_time_limit: int = Field(default=600, ge=1)
    task_time_limit: int = Field(default=660, ge=1)
    worker_soft_shutdown_timeout: int = Field(default=20, ge=0)
    result_expires_seconds: int = Field(default=3600, ge=60)
    broker_visibility_timeout_seconds: int = Field(default=0, ge=0)

    # --- Flower ---
    flower_user: str = "vigia"
    flower_password: SecretStr | None = None

    # --- API ---
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=2, ge=1, le=32)
    api_keys: Annotated[CsvList, Field(default_factory=list)]
    api_read_key_required: bool = False
    cors_origins: Annotated[CsvList, Field(default_factory=list)]
    api_max_page_size: int = Field(default=100, ge=1, le=1000)
    api_max_body_bytes: int = Field(default=65_536, ge=1024)
    api_max_window_days: int = Field(default=366, ge=1, le=3660)

    # --- API: read keys, rate limits, quotas, caches (safe to leave public) ---
    api_read_keys: Annotated[CsvList, Field(default_factory=list)]
    api_rate_limit_reads: str = "600/minute"
    api_rate_limit_writes: str = "30/minute"
    api_on_demand_daily_quota: int = Field(default=200, ge=1)
    api_on_demand_max_pages: int = Field(default=40, ge=1, le=10_000)
    api_inline_job_seconds: int = Field(default=300, ge=10)
    api_summary_ttl_seconds: float = Field(default=15.0, ge=0, le=3600)
    api_list_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    api_max_response_bytes: int = Field(default=4_000_000, ge=65_536)
    api_trusted_proxy_hops: int = Field(default=0, ge=0, le=5)

    # --- local stack (development only) ---
    vigia_data_dir: str = ".vigia"

    # --- error reports, alerts and the dead-man's switch (shared.observability) ---
    sentry_sample_rate: float = Field(default=1.0, ge=0, le=1)
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    alert_webhook_url: SecretStr | None = None
    alert_webhook_format: Literal["slack", "discord", "json"] = "json"
    alert_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    heartbeat_url: SecretStr | None = None
    public_api_url: str | None = None
    public_flower_url: str | None = None

    _csv = field_validator(
        "watched_orgaos", "priority_orgaos", "api_keys", "api_read_keys", "cors_origins", mode="before"
    )(
        _split_csv
    )

    @field_validator("api_rate_limit_reads", "api_rate_limit_writes")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"must look like 600/minute or 10/second, not {value!r}") from None
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _rewrite_postgres_scheme(cls, value: object) -> object:
        """Heroku-style ``postgres://`` URLs (Render, Railway, Supabase docs) mean ``postgresql://``."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and raw.startswith("postgres://"):
            return "postgresql://" + raw[len("postgres://") :]
        if isinstance(raw, str) and not raw.strip():
            return None
        return value

    @field_validator("alert_webhook_url", "heartbeat_url", mode="after")
    @classmethod
    def _http_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A webhook or ping URL must be http(s); a typo would otherwise only show when it is needed."""
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError(f"{str(info.field_name).upper()} must start with https:// (or http://)")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_simulator(self) -> bool:
        """Without a Portal key, development runs against the local simulator."""
        return self.transparency_api_key is None

    @property
    def broker_url(self) -> str:
        """The Redis URL every process shares; a local Redis in development."""
        if self.redis_url is None:
            return "redis://127.0.0.1:6379/0"
        return self.redis_url.get_secret_value()

    @property
    def storage_backend(self) -> Literal["postgres", "supabase"] | None:
        if self.database_url is not None:
            return "postgres"
        if self.supabase_url and self.supabase_service_role_key is not None:
            return "supabase"
        return None

    def secret_values(self) -> list[str]:
        """Every secret's value, so logging can redact them wherever they appear."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                values.append(value.get_secret_value())
        values.extend(self.api_keys)
        # A URL's password alone can leak in a driver error; redact it too.
        for url in (self.database_url, self.redis_url):
            if url is not None:
                from urllib.parse import urlsplit

                with contextlib.suppress(ValueError):
                    password = urlsplit(url.get_secret_value()).password
                    if password:
                        values.append(password)
        return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def problems_for(self, process: Process) -> list[str]:
        """What keeps ``process`` from running in this environment; empty when it may start."""
        if process in CELERY_PROCESSES and not self.enable_celery_workers:
            # In every environment: with the switch off the deployment has no broker, so a Celery
            # process started by mistake would only retry a Redis that is not there.
            return [
                f"ENABLE_CELERY_WORKERS is false: this deployment runs no Celery processes (the API "
                f"investigates on demand itself); set ENABLE_CELERY_WORKERS=true to run the {process}"
            ]
        if not self.is_production:
            return []
        problems: list[str] = []

        def missing(name: str, value: str | SecretStr | None, why: str) -> None:
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw is None or raw.strip().lower() in _PLACEHOLDERS:
                problems.append(f"{name} is missing: {why}")

        # The web needs the broker only to queue on-demand work for the workers.
        needs_broker = process in CELERY_PROCESSES or (process == "web" and self.enable_celery_workers)
        if self.redis_url is None and needs_broker:
            problems.append("REDIS_URL is missing: the broker every process shares (e.g. redis://host:6379/0)")
        if process in {"web", "worker", "release", "cli"} and self.storage_backend is None:
            problems.append(
                "DATABASE_URL (or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY) is missing: "
                "where investigations are stored"
            )
        # Without Celery the web runs on-demand investigations itself, so it calls the Portal.
        if process == "worker" or (process == "web" and not self.enable_celery_workers):
            missing(
                "TRANSPARENCY_API_KEY",
                self.transparency_api_key,
                "the Portal da Transparência key; production never uses the simulator",
            )
        if process == "flower":
            missing("FLOWER_PASSWORD", self.flower_password, "Flower's basic auth is mandatory outside development")
        if process == "web" and not self.api_keys:
            problems.append("API_KEYS is missing: write endpoints need at least one key")
        if process == "web":
            problems.extend(self._key_problems())
        for name in ("supabase_service_role_key", "groq_api_key", "transparency_api_key", "flower_password"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS - {""}:
                problems.append(f"{name.upper()} is a placeholder value; set the real secret")
        if self.broker_url.startswith("rediss://") and self.redis_ssl_cert_reqs == "none":
            problems.append("REDIS_SSL_CERT_REQS=none turns off certificate checks on a TLS broker")
        return sorted(set(problems))


    def _key_problems(self) -> list[str]:
        """Weak or misplaced API keys; the keys themselves are never quoted."""
        problems: list[str] = []
        for name, keys in (("API_KEYS", self.api_keys), ("API_READ_KEYS", self.api_read_keys)):
            for position, key in enumerate(keys, start=1):
                if key.strip().lower() in _PLACEHOLDERS or len(key) < MIN_API_KEY_LENGTH:
                    problems.append(
                        f"{name} holds a weak key (key {position} of {len(keys)}: {len(key)} characters"
                        f"{', a placeholder' if key.strip().lower() in _PLACEHOLDERS else ''}); use at least "
                        f"{MIN_API_KEY_LENGTH} random characters, e.g. python -c 'import secrets; "
                        "print(secrets.token_urlsafe(24))'"
                    )
        if set(self.api_keys) & set(self.api_read_keys):
            problems.append("API_READ_KEYS repeats a key of API_KEYS: a read key must not be able to write")
        return problems


class ConfigurationError(SystemExit):
    """Raised (as a clean exit) when a process cannot start with the environment it was given."""


def _format_validation_error(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]).upper() or "SETTINGS"
        lines.append(f"{name} is invalid: {item['msg']}")
    return lines


_override: Settings | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process: read from the environment once, or the test override.

    ``get_settings.cache_clear()`` makes the next call read the environment again (after the dev
    runner or a test changed it); :func:`override_settings` replaces the settings for a block.
    """
    if _override is not None:
        return _override
    return Settings()


def require(process: Process) -> Settings:
    """Load settings for ``process`` or exit non-zero with one message naming every problem."""
    try:
        settings = get_settings()
        problems = settings.problems_for(process)
    except ValidationError as error:
        problems = _format_validation_error(error)
    if problems:
        message = f"vigia {process} cannot start: " + "; ".join(problems)
        import json
        import sys
        from datetime import UTC, datetime

        # One JSON line, as every other log line, so the platform dashboard shows it whole.
        record = {
            "timestamp": datetime.now(UTC).isoformat(),
            "level": "CRITICAL",
            "logger": "vigia.config",
            "message": message,
            "process": process,
            "problems": problems,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        raise ConfigurationError(2)
    return settings


@contextlib.contextmanager
def override_settings(**values: object) -> Iterator[Settings]:
    """Replace the process settings for the duration of a block (tests)."""
    global _override
    previous = _override
    _override = get_settings().model_copy(update=values)
    get_settings.cache_clear()
    try:
        yield _override
    finally:
        _override = previous
        get_settings.cache_clear()

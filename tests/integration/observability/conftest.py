"""Fixtures shared with the pipeline tests (a migrated database, the Portal simulator) and with the
leak test (a deployment holding real-looking secrets), for the observability tests' real processes."""

from tests.integration.pipeline.conftest import pipeline_database, sim_dataset, simulator
from tests.integration.security.conftest import (
    deployment_secrets,
    keyed_portal,
    password_database_url,
    password_redis_url,
)

__all__ = ["deployment_secrets", "keyed_portal", "password_database_url", "password_redis_url",
           "pipeline_database", "sim_dataset", "simulator"]

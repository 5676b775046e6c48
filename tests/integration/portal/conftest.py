"""A real simulator on a free port and real clients pointed at it, with fast but real retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.domain import Source
from shared.portal.breaker import CircuitBreaker
from shared.portal.client import PortalClient
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.dataset import generate_dataset
from shared.portal.simulator.server import SimulatorServer, running_simulator
from shared.portal.transport import RetryPolicy

TEST_KEY = "test-key-0123456789"


class RecordingSleep:
    """Records every wait the client asks for and really sleeps ``scale`` times as long."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds * self.scale)


@pytest.fixture(scope="session")
def sim_dataset() -> SimDataset:
    return generate_dataset(11, scale=0.3)


@pytest.fixture
def simulator(sim_dataset: SimDataset) -> Iterator[SimulatorServer]:
    with running_simulator(sim_dataset) as server:
        yield server


@pytest.fixture
def admin(simulator: SimulatorServer) -> Iterator[SimulatorAdmin]:
    with SimulatorAdmin(simulator.base_url) as client:
        yield client


@pytest.fixture
def sleeper() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(simulator: SimulatorServer, sleeper: RecordingSleep) -> Iterator[Callable[..., PortalClient]]:
    made: list[PortalClient] = []

    def make(**overrides: Any) -> PortalClient:
        options: dict[str, Any] = {
            "base_url": simulator.base_url,
            "api_key": TEST_KEY,
            "source": Source.SIMULATOR,
            "timeout": 5.0,
            "retry": RetryPolicy(max_retries=3, base_delay=0.02, max_delay=0.1, sleep=sleeper, rng=random.Random(1)),
            "breaker": CircuitBreaker(failure_threshold=100, reset_seconds=60),
        }
        options.update(overrides)
        client = PortalClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def biggest_orgao(dataset: SimDataset) -> tuple[str, list[dict[str, Any]]]:
    by_orgao: dict[str, list[dict[str, Any]]] = {}
    for record in dataset.contracts:
        by_orgao.setdefault(record["unidadeGestora"]["orgaoVinculado"]["codigoSIAFI"], []).append(record)
    code = max(by_orgao, key=lambda c: len(by_orgao[c]))
    return code, by_orgao[code]

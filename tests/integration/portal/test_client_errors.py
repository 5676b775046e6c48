"""Every error class, against the real simulator over HTTP, with real (small) retry delays."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from shared.config import Settings
from shared.domain import Source
from shared.portal.breaker import BreakerState, CircuitBreaker
from shared.portal.client import PortalClient
from shared.portal.errors import (
    CircuitOpen,
    InvalidResponse,
    PermanentRequestError,
    PortalUnavailable,
    RateLimited,
)
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.server import SimulatorServer
from shared.portal.transport import RetryPolicy
from tests.integration.portal.conftest import TEST_KEY, RecordingSleep, biggest_orgao
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

Client = Callable[..., PortalClient]


def _gaps(admin: SimulatorAdmin) -> list[float]:
    times = [r["monotonic"] for r in admin.requests()]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _orgao(dataset: SimDataset) -> str:
    return biggest_orgao(dataset)[0]


def test_it_fails_a_400_at_once_naming_endpoint_params_status_and_body(
    make_client: Client, admin: SimulatorAdmin, sleeper: RecordingSleep
) -> None:
    with pytest.raises(PermanentRequestError) as caught:
        make_client().transport.get_json("/contratos", {"pagina": 1})
    message = str(caught.value)
    assert caught.value.status == 400 and "GET /contratos" in message and "pagina=1" in message
    assert "Filtros mínimos" in message and "codigoOrgao" in message
    assert TEST_KEY not in message and TEST_KEY[:6] not in message and "(key #" in message
    assert admin.stats()["total"] == 1 and sleeper.calls == []


def test_it_fails_a_missing_key_with_401_and_says_which_setting_to_fix(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    with pytest.raises(PermanentRequestError, match="answered 401.*TRANSPARENCY_API_KEY"):
        list(make_client(api_key=None).iter_contract_pages(_orgao(sim_dataset)))
    assert admin.stats() == {"total": 1, "by_status": {"401": 1}, "by_path": {"/contratos": 1}, "rate_limited": 0}


def test_it_fails_a_refused_key_or_an_unknown_path_with_403_without_retrying(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset, sleeper: RecordingSleep
) -> None:
    client = make_client()
    with pytest.raises(PermanentRequestError, match="answered 403: 'Acesso negado"):
        client.transport.get_json("/contratos/nao-existe", {"pagina": 1})
    admin.configure(api_keys=["the-only-good-key-000"])
    with pytest.raises(PermanentRequestError, match="answered 403") as caught:
        list(client.iter_contract_pages(_orgao(sim_dataset)))
    assert caught.value.status == 403 and TEST_KEY not in str(caught.value)
    assert admin.stats()["total"] == 2 and sleeper.calls == []


def test_it_waits_the_retry_after_of_a_429_before_trying_again(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset, sleeper: RecordingSleep
) -> None:
    admin.configure(script=["429:1", "429:1"])
    page = next(make_client().iter_contract_pages(_orgao(sim_dataset)))
    assert page.items
    assert sleeper.calls == [1.0, 1.0]
    statuses = [r["status"] for r in admin.requests()]
    assert statuses == [429, 429, 200]
    assert all(gap >= 1.0 for gap in _gaps(admin))  # measured where it matters: at the server


def test_it_waits_at_least_60_seconds_after_a_429_without_retry_after(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    scaled = RecordingSleep(scale=0.01)  # the request is for >= 60 s; the test sleeps 1 % of it for real
    admin.configure(retry_after_header=False, script=["429"])
    client = make_client(retry=RetryPolicy(max_retries=2, sleep=scaled))
    assert next(client.iter_contract_pages(_orgao(sim_dataset))).items
    assert len(scaled.calls) == 1 and scaled.calls[0] >= 60
    assert _gaps(admin)[0] >= 0.6


def test_it_raises_rate_limited_when_429s_outlast_the_retries_or_ask_too_long_a_wait(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset, sleeper: RecordingSleep
) -> None:
    admin.configure(script=["429:0.1"] * 4)
    with pytest.raises(RateLimited, match="gave up after 4 attempts") as caught:
        next(make_client().iter_contract_pages(_orgao(sim_dataset)))
    assert caught.value.retry_after == pytest.approx(0.1) and sleeper.calls == [0.1, 0.1, 0.1]
    admin.reset()
    sleeper.calls.clear()
    admin.configure(script=["429:900"])
    with pytest.raises(RateLimited) as long_wait:
        next(make_client().iter_contract_pages(_orgao(sim_dataset)))
    assert long_wait.value.retry_after == 900 and sleeper.calls == []  # a task reschedules instead of blocking


def test_it_retries_5xx_with_jittered_exponential_backoff_then_succeeds(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset, sleeper: RecordingSleep
) -> None:
    admin.configure(script=["503", "500", "502"])
    assert next(make_client().iter_contract_pages(_orgao(sim_dataset))).items
    assert [r["status"] for r in admin.requests()] == [503, 500, 502, 200]
    first, second, third = sleeper.calls
    assert 0.01 <= first <= 0.02 and 0.02 <= second <= 0.04 and 0.04 <= third <= 0.08


def test_it_raises_portal_unavailable_when_5xx_outlast_the_retries(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    admin.configure(error_ratio=1.0)
    with pytest.raises(PortalUnavailable, match="answered 503.*gave up after 4 attempts") as caught:
        next(make_client().iter_contract_pages(_orgao(sim_dataset)))
    assert caught.value.status == 503 and not isinstance(caught.value, CircuitOpen)
    assert admin.stats()["total"] == 4


def test_it_retries_empty_and_non_json_bodies_then_raises_invalid_response(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    admin.configure(script=["empty", "html"])
    assert next(make_client().iter_contract_pages(_orgao(sim_dataset))).items
    admin.reset()
    admin.configure(script=["html"] * 4)
    with pytest.raises(InvalidResponse, match="not JSON.*gave up after 4 attempts"):
        next(make_client().iter_contract_pages(_orgao(sim_dataset)))
    admin.reset()
    admin.configure(script=["empty"] * 4)
    with pytest.raises(InvalidResponse, match="empty body"):
        next(make_client().iter_contract_pages(_orgao(sim_dataset)))


def test_it_retries_a_timeout_then_raises_portal_unavailable(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    admin.configure(script=["slow:1"])
    client = make_client(timeout=0.3)
    assert next(client.iter_contract_pages(_orgao(sim_dataset))).items
    admin.reset()
    admin.configure(slow_ratio=1.0, slow_seconds=1.0)
    with pytest.raises(PortalUnavailable, match="timed out"):
        next(client.iter_contract_pages(_orgao(sim_dataset)))


def test_it_opens_the_circuit_after_repeated_failures_and_closes_it_when_the_api_recovers(
    make_client: Client, admin: SimulatorAdmin, sim_dataset: SimDataset
) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=1.0)
    client = make_client(breaker=breaker)
    admin.configure(error_ratio=1.0)
    with pytest.raises(CircuitOpen, match="failed 3 times in a row"):
        next(client.iter_contract_pages(_orgao(sim_dataset)))
    assert admin.stats()["total"] == 3  # the fourth attempt never left the process
    with pytest.raises(CircuitOpen):
        client.get_contract(sim_dataset.contracts[0]["id"])
    assert admin.stats()["total"] == 3
    admin.configure(error_ratio=0.0)
    wait_for(lambda: breaker.state is BreakerState.HALF_OPEN, timeout=5, what="the breaker to allow a probe")
    assert client.get_contract(sim_dataset.contracts[0]["id"]) is not None
    assert breaker.state is BreakerState.CLOSED and admin.stats()["total"] == 4


def test_it_refuses_the_simulator_in_production(simulator: SimulatorServer) -> None:
    with pytest.raises(PermanentRequestError, match="production process refuses the Portal simulator"):
        PortalClient.from_settings(Settings(_env_file=None, environment="production"))  # type: ignore[call-arg]
    # A production client pointed at a simulator by mistake recognises it by its header.
    client = PortalClient(base_url=simulator.base_url, api_key=TEST_KEY, source=Source.PORTAL,
                          allow_simulator=False, retry=RetryPolicy(max_retries=0, rng=random.Random(1)),
                          timeout=30.0, breaker=CircuitBreaker(failure_threshold=5, reset_seconds=120.0))
    with pytest.raises(PermanentRequestError, match="answered by the Vigia simulator"):
        list(client.iter_orgaos())
    client.close()


def test_it_never_marks_simulated_rows_as_real_even_outside_production(simulator: SimulatorServer) -> None:
    with PortalClient(base_url=simulator.base_url, api_key=TEST_KEY, source=Source.PORTAL,
                      retry=RetryPolicy(max_retries=0), timeout=30.0,
                      breaker=CircuitBreaker(failure_threshold=5, reset_seconds=120.0)) as client, pytest.raises(
        PermanentRequestError, match="answered by the Vigia simulator"
    ):
        list(client.iter_orgaos())

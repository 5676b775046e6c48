"""The simulator's fault configuration and its per-key sliding window."""

from __future__ import annotations

import pytest

from shared.portal.simulator.faults import ConfigError, FaultConfig, FaultState, corrupt


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_refuses_unknown_settings_and_impossible_values() -> None:
    with pytest.raises(ConfigError, match="unknown fault settings \\['error_rate'\\]"):
        FaultConfig.from_json({"error_rate": 0.5})
    with pytest.raises(ConfigError, match="error_ratio"):
        FaultConfig.from_json({"error_ratio": 2})
    with pytest.raises(ConfigError, match="script entry 'teapot'"):
        FaultConfig.from_json({"script": ["teapot"]})


@pytest.mark.parametrize("name", ["error_ratio", "empty_ratio", "non_json_ratio", "slow_ratio", "malformed_ratio"])
def test_it_refuses_every_ratio_outside_zero_to_one(name: str) -> None:
    assert FaultConfig.from_json({name: 1}).to_json()[name] == 1
    for bad in (-0.1, 1.5, "half"):
        with pytest.raises(ConfigError, match=f"{name} must be a number in \\[0, 1\\]"):
            FaultConfig.from_json({name: bad})


def test_it_merges_a_change_into_the_current_configuration() -> None:
    base = FaultConfig.from_json({"rate_limit": 10, "error_ratio": 0.2})
    merged = FaultConfig.from_json({"error_ratio": 0.0}, base=base)
    assert merged.rate_limit == 10 and merged.error_ratio == 0.0


def test_it_accepts_at_most_the_limit_in_any_window_per_key() -> None:
    clock = Clock()
    state = FaultState(FaultConfig(rate_limit=3, rate_window_seconds=10), clock=clock)
    assert [state.admit("a").status for _ in range(3)] == [None, None, None]
    refused = state.admit("a")
    assert refused.status == 429 and refused.retry_after == 10
    assert state.admit("b").status is None  # the budget is per key
    clock.now = 9.5
    assert state.admit("a").status == 429 and state.admit("a").retry_after == 1
    clock.now = 10.0  # the first three leave the window together
    assert [state.admit("a").status for _ in range(3)] == [None, None, None]


def test_it_plays_a_script_in_order_then_serves_normally() -> None:
    state = FaultState(FaultConfig(script=["503", "429:2", "empty", "html", "slow:0.5", "403"]))
    decisions = [state.admit("k") for _ in range(7)]
    assert [d.status for d in decisions] == [503, 429, 200, 200, None, 403, None]
    assert decisions[1].retry_after == 2
    assert decisions[2].body == b"" and b"<html>" in decisions[3].body
    assert decisions[4].delay == 0.5


def test_it_answers_403_for_a_key_it_does_not_know() -> None:
    state = FaultState(FaultConfig(api_keys=["good-key"]))
    assert state.admit("good-key").status is None
    assert state.admit("bad-key").status == 403


def test_it_corrupts_the_same_records_every_time() -> None:
    state = FaultState(FaultConfig(malformed_ratio=0.2, seed=3))
    chosen = [i for i in range(1000) if state.is_malformed(i)]
    assert 120 < len(chosen) < 280
    assert chosen == [i for i in range(1000) if state.is_malformed(i)]
    broken = [corrupt({"id": i, "dataAssinatura": "2024-01-01", "valorFinalCompra": 1, "unidadeGestora": {}})
              for i in range(4)]
    assert "id" not in broken[0]
    assert broken[1]["dataAssinatura"] == "31/02/2024"
    assert broken[2]["valorFinalCompra"] == "muitos reais"
    assert broken[3]["unidadeGestora"] == "UG sem objeto"

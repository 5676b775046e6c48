"""Detection quality on the simulator's planted data set: recall, look-alike false alarms and clean flag rate.

Fails when any per-contract indicator finds fewer than 95 % of its planted cases, raises a false
alarm on more than 2 % of the lawful look-alikes built for it (at any severity; amendments from
medium, sanctions from high), or flags more than 3 % of clean contracts, and when an órgão-level
indicator misses a planted órgão-year. The table (the one in the README) is logged on
``vigia.tests.detection``: ``pytest --log-cli-level=INFO`` shows it.
"""

from __future__ import annotations

import logging

import pytest

from shared.evaluation.quality import evaluate_dataset, table
from shared.portal.simulator.dataset import generate_dataset

log = logging.getLogger("vigia.tests.detection")

MIN_RECALL, MAX_CLEAN_RATE, MAX_LOOKALIKE_RATE = 0.95, 0.03, 0.02


@pytest.mark.parametrize(("seed", "scale"), [(7, 1.0), (11, 0.5)])
def test_it_finds_the_planted_anomalies_without_flagging_clean_contracts(seed: int, scale: float) -> None:
    dataset = generate_dataset(seed, scale=scale)
    rows, result = evaluate_dataset(dataset)
    log.info("Detection quality, seed %s, scale %s: %d contracts, %d clean, detector %s\n%s", seed, scale,
             len(dataset.contracts), len(dataset.ground_truth.clean), result.detector_version, table(rows))
    assert len(rows) == 9 and all(row.planted > 0 for row in rows), "every indicator needs planted cases"
    assert all(row.lookalikes > 0 for row in rows if row.scope == "contrato"), "every contract indicator needs look-alikes"
    failures = [
        f"{row.code}: recall {row.recall:.3f}, look-alike false alarms {row.lookalike_rate:.2%}, "
        f"clean flag rate {row.clean_rate:.2%}"
        for row in rows
        if row.recall < MIN_RECALL or (row.scope == "contrato" and (
            row.clean_rate > MAX_CLEAN_RATE or row.lookalike_rate > MAX_LOOKALIKE_RATE))
    ]
    assert not failures, "\n".join(failures) + "\n" + table(rows)

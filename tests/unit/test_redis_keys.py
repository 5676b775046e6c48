"""Redis keys are named in one module: no other source file spells a ``vigia:`` key itself."""

from __future__ import annotations

import ast

from shared import redis_keys
from tests.support.processes import REPO_ROOT

KEYS_MODULE = REPO_ROOT / "shared" / "redis_keys.py"


def _keys() -> dict[str, str]:
    return {name: value for name, value in vars(redis_keys).items() if name.isupper() and isinstance(value, str)}


def test_it_gives_every_key_the_vigia_namespace_once() -> None:
    keys = _keys()
    assert keys, "shared.redis_keys names no key"
    assert all(value.startswith("vigia:") for value in keys.values())
    assert len(set(keys.values())) == len(keys), "two names for one Redis key"


def test_it_keeps_redis_key_literals_out_of_every_other_module() -> None:
    spelled: list[str] = []
    for root in ("shared", "services"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            if path == KEYS_MODULE:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("vigia:"):
                    spelled.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.value!r}")
    assert not spelled, "Redis keys spelled outside shared/redis_keys.py:\n" + "\n".join(spelled)

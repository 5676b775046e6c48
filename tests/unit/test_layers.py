"""The layers of ``shared/`` as its imports draw them: no cycle, no arrow up to ``services/``, detection on the domain alone.

Read statically with :mod:`ast`, so every import counts — at module level, inside functions and
under ``TYPE_CHECKING`` — and nothing is executed. A module is named by its path; ``from a import
b`` is an edge to ``a.b`` when that is a module of ours, else to ``a``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / "shared").rglob("*.py"))}


def imported(path: Path) -> Iterator[str]:
    """Every module name ``path`` imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in modules() else base


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the modules of ``shared/`` it imports."""
    ours = modules()
    return {name: frozenset(dep for dep in imported(path) if dep in ours and dep != name) for name, path in ours.items()}


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_it_reads_imports_of_every_form() -> None:
    # The checks below pass vacuously if the reader sees nothing: prove it sees a known edge of each form.
    quality = graph()["shared.evaluation.quality"]
    assert {"shared.portal.models", "shared.detection.suite", "shared.domain"} <= quality
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) == [
        ["a", "b", "c"]]


def test_it_has_no_import_cycle_between_modules_of_shared() -> None:
    assert cycles(graph()) == []


def test_it_has_no_import_cycle_between_packages_of_shared() -> None:
    packages: dict[str, set[str]] = {}
    for name, deps in graph().items():
        top = ".".join(name.split(".")[:2])
        packages.setdefault(top, set()).update(".".join(d.split(".")[:2]) for d in deps)
    assert cycles({top: frozenset(deps - {top}) for top, deps in packages.items()}) == []


def test_it_never_imports_services_from_shared() -> None:
    upward = {name: sorted(d for d in imported(path) if within(d, "services"))
              for name, path in modules().items()}
    assert {name: deps for name, deps in upward.items() if deps} == {}


def test_it_builds_detection_on_the_domain_alone() -> None:
    allowed = ("shared.detection", "shared.domain")
    detection = [name for name in modules() if within(name, "shared.detection")]
    assert "shared.detection.indicators.price_outlier" in detection
    outside = {name: sorted(d for d in imported(modules()[name])
                            if within(d, "shared") or within(d, "services")
                            if not any(within(d, a) for a in allowed))
               for name in detection}
    assert {name: deps for name, deps in outside.items() if deps} == {}

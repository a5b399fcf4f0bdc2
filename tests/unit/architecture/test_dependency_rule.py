"""The dependency rule, checked on the source: the domain imports only the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FRAMEWORKS = {
    "sqlalchemy", "litestar", "dramatiq", "redis", "asyncpg", "aiosqlite", "httpx",
    "dependency_injector", "msgspec", "structlog", "alembic", "prometheus_client",
}  # fmt: skip
OUTER_LAYERS = {"adapters", "read_models", "outbox", "entrypoints"}


def imported_top_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = {
        path: sorted(n for n in names if n != "domain" and n not in sys.stdlib_module_names)
        for path, names in imported_top_modules("domain").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("package", ["application", "ports"])
def test_inner_layers_import_no_adapter_and_no_framework(package: str) -> None:
    offenders = {
        path: sorted(names & (FRAMEWORKS | OUTER_LAYERS))
        for path, names in imported_top_modules(package).items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_imports_at_all() -> None:
    """Guards the guard: the scan must find the domain's own imports, or it proves nothing."""
    assert "decimal" in imported_top_modules("domain")["domain/money.py"]

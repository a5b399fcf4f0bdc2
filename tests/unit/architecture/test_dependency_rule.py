"""The dependency rule, checked on the source (beside import-linter's contracts in pyproject.toml):
who may import whom, and which libraries each layer may use."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
#: Libraries that do I/O or tie code to one framework.
FRAMEWORKS = {
    "sqlalchemy", "litestar", "dramatiq", "redis", "asyncpg", "aiosqlite", "httpx",
    "dependency_injector", "msgspec", "structlog", "alembic", "prometheus_client",
}  # fmt: skip
#: What each folder may not import (PRODUCT.md's architecture, docs/architecture.md).
FORBIDDEN = {
    "ports": FRAMEWORKS | {"application", "adapters", "read_models", "outbox", "entrypoints"},
    "application": FRAMEWORKS | {"adapters", "read_models", "outbox", "entrypoints"},
    "outbox": FRAMEWORKS | {"adapters", "entrypoints", "read_models"},
    "read_models": FRAMEWORKS | {"adapters", "entrypoints", "outbox"},
    "adapters": {"application", "read_models", "outbox", "entrypoints", "dependency_injector"},
}
#: The one arrow from an adapter into the core's policy: the worker's actors hand each message
#: to the outbox's delivery.
ALLOWED = {("adapters/dramatiq/actors.py", "outbox")}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Per file of `package`: every module it imports, dotted, as written."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def tops(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = {
        path: sorted(n for n in tops(names) if n != "domain" and n not in sys.stdlib_module_names)
        for path, names in imported_modules("domain").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(package: str) -> None:
    offenders = {
        path: sorted(n for n in tops(names) & FORBIDDEN[package] if (path, n) not in ALLOWED)
        for path, names in imported_modules(package).items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_entrypoints_install_the_tracing_sdk() -> None:
    """The OpenTelemetry API is a no-op port; its SDK and exporter are a process's choice."""
    offenders = {
        path: sorted(
            n for n in names if n.startswith(("opentelemetry.sdk", "opentelemetry.exporter"))
        )
        for package in ("domain", "ports", "application", "outbox", "read_models", "adapters")
        for path, names in imported_modules(package).items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_imports_at_all() -> None:
    """Guards the guard: the scan must find imports it forbids elsewhere, or it proves nothing."""
    assert "decimal" in imported_modules("domain")["domain/money.py"]
    assert "sqlalchemy" in tops(imported_modules("adapters")["adapters/sql/outbox_store.py"])
    assert "opentelemetry.sdk.trace" in imported_modules("entrypoints")["entrypoints/tracing.py"]

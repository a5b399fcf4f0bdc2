"""The first-day failures, provoked for every command they can stop: one line with a hint, no
traceback, no password (the database unreachable or not migrated, the port in use, a bad
setting)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ORDERHUB, free_port

PASSWORD = "first-day-pw-0d6f"
#: Nothing listens on port 1 of loopback: the connection is refused at once.
UNREACHABLE = f"postgresql+asyncpg://orderhub:{PASSWORD}@127.0.0.1:1/orderhub"

#: Every command that uses the database, with arguments it would otherwise start with.
DATABASE_COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "relay": ["relay"],
    "worker": ["worker"],
    "migrate": ["migrate"],
    "demo": ["demo", "--no-serve", "--orders", "1"],
    "keys create": ["keys", "create", "--role", "agent"],
    "keys list": ["keys", "list"],
    "keys revoke": ["keys", "revoke", "9f2c6c1e-0000-4000-8000-000000000001"],
    "keys rotate": ["keys", "rotate", "9f2c6c1e-0000-4000-8000-000000000001"],
    "projections rebuild": ["projections", "rebuild"],
}
#: The commands that need the schema migrated (migrate makes it; the demo migrates itself).
SCHEMA_COMMANDS = {
    name: args for name, args in DATABASE_COMMANDS.items() if name not in ("migrate", "demo")
}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORDERHUB, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """What the command said, checked to be a single line with a hint and nothing else."""
    assert done.returncode != 0, done.stdout + done.stderr
    said = done.stderr.strip()
    assert said.count("\n") == 0, said
    assert "Traceback" not in done.stdout + done.stderr
    assert "hint:" in said, said
    assert PASSWORD not in done.stdout + done.stderr
    return said


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "LOG_FORMAT")}
    return {**kept, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_an_unreachable_database_is_one_line_with_a_hint(command: str, env: dict[str, str]) -> None:
    said = one_line(run(DATABASE_COMMANDS[command], {**env, "DATABASE_URL": UNREACHABLE}))
    assert said.startswith(f"orderhub {command.split(maxsplit=1)[0]}: cannot reach the database")
    assert "postgresql+asyncpg://orderhub:***@127.0.0.1:1/orderhub" in said
    assert "connection refused" in said


def test_a_sqlite_file_that_cannot_be_opened_is_one_line_with_a_hint(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path}/no/such/directory/hub.db"
    said = one_line(run(["migrate"], {**env, "DATABASE_URL": missing}))
    assert "cannot open the database file" in said


@pytest.mark.parametrize("command", SCHEMA_COMMANDS)
def test_a_database_not_migrated_is_one_line_that_says_to_migrate(
    command: str, env: dict[str, str]
) -> None:
    said = one_line(run(SCHEMA_COMMANDS[command], env))
    assert "is not migrated" in said
    assert "run `orderhub migrate`" in said


@pytest.fixture
def taken_port() -> Iterator[int]:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        yield port


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_one_line_with_a_hint(
    command: str, env: dict[str, str], taken_port: int
) -> None:
    assert run(["migrate"], env).returncode == 0
    said = one_line(run([command, "--port", str(taken_port)], env))
    assert f"cannot listen on 127.0.0.1:{taken_port}: the port is in use" in said
    assert f"--port {taken_port + 1}" in said


@pytest.mark.parametrize("command", [*DATABASE_COMMANDS, "config"])
def test_a_bad_setting_is_one_line_with_a_hint(command: str, env: dict[str, str]) -> None:
    args = DATABASE_COMMANDS.get(command, [command])
    said = one_line(run(args, {**env, "RESERVATION_TTL_SECONDS": "half an hour"}))
    assert "configuration error: RESERVATION_TTL_SECONDS must be a whole number" in said
    assert "`orderhub config`" in said


@pytest.mark.parametrize("command", ["relay", "worker"])
def test_a_relay_or_worker_on_the_in_process_broker_is_one_line_pointing_at_serve(
    command: str, env: dict[str, str]
) -> None:
    assert run(["migrate"], env).returncode == 0
    said = one_line(run([command], {**env, "BROKER_URL": "memory://"}))
    assert "BROKER_URL=memory:// is in-process" in said
    assert "`orderhub serve` runs the relay and the workers itself" in said

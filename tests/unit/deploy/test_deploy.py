"""deploy/ says what the code does: every `command:` of the compose file is an `orderhub`
invocation the real CLI accepts, its environment is settings the code knows (and accepts), its
health checks ask the probes on the ports the commands open, the topology is the guide's, the
Dockerfile installs as CI does, and the alert rules are well formed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from entrypoints.cli import COMMANDS
from entrypoints.cli_parser import parser
from entrypoints.config_report import _NOT_FROM_ENV
from entrypoints.settings import Settings

ROOT = Path(__file__).parents[3]
DEPLOY = ROOT / "deploy"
#: `${NAME:-default}` and `${NAME:?message}` in the compose file.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def orderhub_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image", "").startswith("orderhub")
    }


def interpolated(value: str) -> str:
    """As compose would fill it in with nothing set but the required variables."""
    return INTERPOLATION.sub(lambda m: "s3cret" if m.group(2) == "?" else m.group(3) or "", value)


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_topology_is_one_migrate_then_two_of_each_process() -> None:
    services = orderhub_services()
    commands = sorted(service["command"][0] for service in services.values())

    assert commands == ["migrate", "relay", "relay", "serve", "serve", "worker", "worker"]
    assert {"postgres", "redis"} <= set(compose()["services"])
    for name, service in services.items():
        if service["command"] != ["migrate"]:
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }, name
    assert services["migrate"]["restart"] == "no"


@pytest.mark.parametrize("name", sorted(orderhub_services()))
def test_every_command_is_an_invocation_the_cli_accepts(name: str) -> None:
    command = orderhub_services()[name]["command"]

    args = parser().parse_args(command)  # argparse exits on anything it does not accept

    assert args.command in COMMANDS


def test_every_environment_variable_is_a_setting_the_code_knows_and_accepts() -> None:
    known = {f.name.upper() for f in fields(Settings) if f.name not in _NOT_FROM_ENV}
    for name, service in orderhub_services().items():
        environment = {k: interpolated(str(v)) for k, v in service["environment"].items()}

        assert set(environment) <= known, (name, set(environment) - known)
        Settings.from_env(environment)  # raises SettingsError naming a value it refuses


def test_health_checks_ask_the_probes_on_the_port_each_command_opens() -> None:
    for name, service in orderhub_services().items():
        command = service["command"]
        if command[0] == "migrate":
            continue
        check = " ".join(service["healthcheck"]["test"])
        port = option(command, "--port" if command[0] == "serve" else "--health-port")

        assert f"http://127.0.0.1:{port}/health/ready" in check, name
        if command[0] != "serve":
            assert option(command, "--health-host") == "0.0.0.0", name  # reachable by scrapers


def test_the_pools_fit_the_databases_connections() -> None:
    """The guide's connection budget: every process's two pools, full, and each relay's
    listener, under PostgreSQL's max_connections with its reserved superuser slots."""
    services = orderhub_services()
    processes = sum(1 for s in services.values() if s["command"][0] != "migrate")
    relays = sum(1 for s in services.values() if s["command"][0] == "relay")
    pool = int(services["api-1"]["environment"]["DB_POOL_SIZE"])
    postgres = compose()["services"]["postgres"]["command"]
    max_connections = int(postgres[postgres.index("-c") + 1].split("=")[1])

    assert processes * 2 * pool + relays + 1 <= max_connections - 3


def test_the_dockerfile_installs_as_ci_does_without_the_development_group() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    env_target = makefile[
        makefile.index("\nenv:") : makefile.index("\n\n", makefile.index("\nenv:"))
    ]
    installs = re.findall(r"^RUN (uv sync .*)$", dockerfile, re.MULTILINE)

    assert "$(UV) sync --frozen" in env_target
    assert "export UV_COMPILE_BYTECODE := 1" in makefile
    assert "UV_COMPILE_BYTECODE=1" in dockerfile
    assert installs[-1] == "uv sync --frozen --no-dev"
    # CI builds through make, whose test target runs `env` first.
    assert "\nmake test\n" in (ROOT / ".ci" / "run").read_text()
    assert "\ntest: env\n" in makefile
    assert re.search(r"^USER (?!root)\w+$", dockerfile, re.MULTILINE)


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]


def test_every_alert_rule_has_what_an_on_call_engineer_needs() -> None:
    groups = yaml.safe_load((DEPLOY / "alerts.yaml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]

    assert {r["alert"] for r in rules} >= {
        "OrderhubOutboxLagging", "OrderhubDeadLetters", "OrderhubStuckWorkflows",
        "OrderhubRemoteCircuitOpen", "OrderhubHttp5xx",
    }  # fmt: skip
    for rule in rules:
        assert rule["expr"], rule["alert"]
        assert rule["for"], rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_alert_rules_and_the_dashboards_queries(tmp_path: Path) -> None:
    """The dashboard's queries checked as recording rules: promtool parses their PromQL."""
    queries = dashboard_queries()
    recorded = tmp_path / "dashboard-queries.yaml"
    recorded.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard",
                        "rules": [
                            {
                                "record": f"orderhub:dashboard_query:{i}",
                                "expr": query.replace("$job", ".*"),
                            }
                            for i, query in enumerate(queries)
                        ],
                    }
                ]
            }
        )
    )

    for rules in (DEPLOY / "alerts.yaml", recorded):
        checked = subprocess.run(
            ["promtool", "check", "rules", str(rules)], check=False, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(queries) >= 20

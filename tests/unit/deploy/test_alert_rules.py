"""deploy/alerts.yaml's expressions, evaluated by promtool on series as two API processes, two
relays and two workers report them: each fires on what it is about and not below it, and the
hub's state, which every API process reports alike, is never counted twice."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).parents[3] / "deploy"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")


def expr(alert: str) -> str:
    groups = yaml.safe_load((DEPLOY / "alerts.yaml").read_text())["groups"]
    [rule] = [r for g in groups for r in g["rules"] if r.get("alert") == alert]
    return str(rule["expr"])


def both_apis(metric: str, values: str, **labels: str) -> list[dict[str, str]]:
    """The same hub-state series from api-1 and api-2 (each reads the same database)."""
    return [
        {"series": _series(metric, instance=instance, **labels), "values": values}
        for instance in ("api-1", "api-2")
    ]


def _series(metric: str, **labels: str) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def evaluated(tmp_path: Path, series: list[dict[str, str]], checks: list[dict[str, Any]]) -> None:
    """promtool evaluates each check's expression at its time against `series` (one sample a
    minute) and compares the samples."""
    test = tmp_path / "alerts_test.yaml"
    test.write_text(
        yaml.safe_dump(
            {
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}],
            }
        )
    )
    done = subprocess.run(
        ["promtool", "test", "rules", str(test)], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def fires(at: str, alert: str, value: float, **labels: str) -> dict[str, Any]:
    return {
        "expr": expr(alert),
        "eval_time": at,
        "exp_samples": [{"labels": _series("", **labels) if labels else "{}", "value": value}],
    }


def quiet(at: str, alert: str) -> dict[str, Any]:
    return {"expr": expr(alert), "eval_time": at, "exp_samples": []}


def test_outbox_lag_fires_past_a_minute_once_whatever_the_number_of_api_processes(
    tmp_path: Path,
) -> None:
    evaluated(
        tmp_path,
        both_apis("orderhub_outbox_lag_seconds", "30x5 120x5"),
        [quiet("4m", "OrderhubOutboxLagging"), fires("8m", "OrderhubOutboxLagging", 120)],
    )


def test_the_outbox_growing_fires_only_while_a_large_backlog_grows(tmp_path: Path) -> None:
    evaluated(
        tmp_path,
        both_apis("orderhub_outbox_unpublished", "20000+500x30 35000x30"),
        [quiet("50m", "OrderhubOutboxGrowing"),
         fires("25m", "OrderhubOutboxGrowing", 32500)],
    )  # fmt: skip


def test_dead_letters_fire_when_the_store_grew_in_the_last_15_minutes(tmp_path: Path) -> None:
    evaluated(
        tmp_path,
        both_apis("orderhub_dead_letters", "5x20 7x30"),
        [quiet("19m", "OrderhubDeadLetters"), fires("25m", "OrderhubDeadLetters", 7),
         quiet("40m", "OrderhubDeadLetters")],
    )  # fmt: skip


def test_stuck_workflows_are_counted_once_not_once_per_api_process(tmp_path: Path) -> None:
    evaluated(
        tmp_path,
        both_apis("orderhub_stuck_workflows", "150x5", kind="not_booked")
        + both_apis("orderhub_stuck_workflows", "0x5", kind="not_delivered"),
        [fires("3m", "OrderhubStuckWorkflows", 150, kind="not_booked")],
    )


def test_an_open_circuit_fires_per_remote(tmp_path: Path) -> None:
    evaluated(
        tmp_path,
        both_apis("orderhub_remote_circuit_open", "1x5", remote="erp")
        + both_apis("orderhub_remote_circuit_open", "0x5", remote="crm"),
        [fires("3m", "OrderhubRemoteCircuitOpen", 1, remote="erp")],
    )


def test_5xx_fire_above_one_percent_of_every_api_processes_requests(tmp_path: Path) -> None:
    def requests(instance: str, status: str, per_minute: int) -> dict[str, str]:
        labels = {"instance": instance, "method": "POST", "path": "/v1/orders"}
        return {
            "series": _series("orderhub_http_requests_total", status_code=status, **labels),
            "values": f"0+{per_minute}x20",
        }

    evaluated(
        tmp_path,
        [requests("api-1", "201", 6000), requests("api-2", "201", 6000),
         requests("api-1", "503", 240), requests("api-2", "200", 0)],
        [fires("10m", "OrderhubHttp5xx", 240 / 12240)],
    )  # fmt: skip
    evaluated(
        tmp_path,
        [requests("api-1", "201", 6000), requests("api-2", "201", 6000),
         requests("api-2", "500", 60)],
        [quiet("10m", "OrderhubHttp5xx")],
    )  # fmt: skip


def test_a_failing_consumer_fires_on_the_sum_of_its_workers_failures(tmp_path: Path) -> None:
    def messages(instance: str, outcome: str, per_minute: int) -> dict[str, str]:
        return {
            "series": _series(
                "orderhub_consumer_messages_total",
                instance=instance, consumer="fulfilment", outcome=outcome,
            ),
            "values": f"0+{per_minute}x20",
        }  # fmt: skip

    evaluated(
        tmp_path,
        [messages("worker-1", "retry", 45), messages("worker-2", "dead", 30),
         messages("worker-1", "done", 6000)],
        [fires("10m", "OrderhubConsumerFailing", 75 / 60, consumer="fulfilment")],
    )  # fmt: skip


def test_an_exhausted_pool_fires_for_its_process_and_engine(tmp_path: Path) -> None:
    evaluated(
        tmp_path,
        [
            {"series": _series("orderhub_db_pool_connections_in_use", instance="worker-1",
                               engine="write"), "values": "10x5"},
            {"series": _series("orderhub_db_pool_size", instance="worker-1", engine="write"),
             "values": "10x5"},
            {"series": _series("orderhub_db_pool_connections_in_use", instance="api-1",
                               engine="write"), "values": "3x5"},
            {"series": _series("orderhub_db_pool_size", instance="api-1", engine="write"),
             "values": "10x5"},
        ],
        [fires("3m", "OrderhubPoolExhausted", 1, instance="worker-1", engine="write")],
    )  # fmt: skip

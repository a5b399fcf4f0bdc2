"""Every metric deploy/'s dashboard and alert rules ask for is one the API's `/metrics` serves
(it serves the process's own registry, which the relay's and the worker's probes serve too, and
the hub's state), and every label they select on is one that metric has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from entrypoints.metrics import observe_delivery, observe_relay_batch, watch_pool
from tests.integration.http.conftest import Api

DEPLOY = Path(__file__).parents[3] / "deploy"
#: The series each kind of metric family exposes (prometheus_client's text format).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
#: Series Prometheus itself adds to every target (not a metric of ours).
PROMETHEUS_OWN = {"up"}


def queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]
    groups = yaml.safe_load((DEPLOY / "alerts.yaml").read_text())["groups"]
    return found + [rule["expr"] for group in groups for rule in group["rules"]]


def served(body: str) -> dict[str, set[str]]:
    """Every series name `/metrics` declares, with the label names its samples carry."""
    series: dict[str, set[str]] = {}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", body, re.MULTILINE):
        base = name.removesuffix("_total") if kind == "counter" else name
        for suffix in SUFFIXES.get(kind, ("",)):
            series.setdefault(base + suffix, set())
    for name, labels in re.findall(r"^(\w+)\{([^}]*)\} ", body, re.MULTILINE):
        series.setdefault(name, set()).update(re.findall(r'(\w+)="', labels))
    return series


async def test_the_dashboard_and_the_alerts_ask_only_for_metrics_and_labels_served(
    api: Api,
) -> None:
    # One of everything, so that every labelled metric shows its labels.
    assert (await api.client.get("/v1/orders", headers=api.auth("agent"))).status_code == 200
    observe_delivery("fulfilment", "done", 0.01)
    observe_relay_batch(3)
    watch_pool("write", api.container.engine(), 20)
    body = (await api.client.get("/metrics")).text
    series = served(body)

    asked = queries()
    for query in asked:
        for name in set(re.findall(r"\b((?:orderhub|process)_\w+)", query)) - PROMETHEUS_OWN:
            assert name in series, (name, query)
        for name, selector in re.findall(r"\b(orderhub_\w+)\{([^}]*)\}", query):
            labels = set(re.findall(r"(\w+)\s*[=!~]", selector))
            assert labels <= series[name], (name, labels - series[name])
    assert len(asked) > 25

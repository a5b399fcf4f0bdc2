"""The markdown table of a results file (bench/run.py writes it next to the JSON)."""

from __future__ import annotations

from typing import Any

from bench.stats import fmt

TARGETS = {
    "flood": "0 errors, p99 ≤ 2× quiet",
    "ratio": "≥ 0.6× bare",
    "hot": "p99 ≤ 250 ms at c32, no 5xx, no 503",
    "fixed": "p99 ≤ 50 ms, no non-2xx",
    "lag": "p99 ≤ 250 ms at 200/s",
    "cpu": "orderhub+postgres ≤ 8 ms per order",
    "relay": "≥ 20,000 events/s (1 relay)",
    "projection": "≥ 1.5 × 200 orders/s × 2 events = 600 events/s",
    "queries": "p99 ≤ 10 ms; growth < 1.5× 10k→1M",
    "rss": "< 250 MB per process",
}


def _rss(*blocks: Any) -> str:
    peak: dict[str, float] = {}
    for block in blocks:
        for moment in ("start", "end"):
            for name, mb in (block or {}).get(moment, {}).items():
                key = name.rstrip("0123456789")
                peak[key] = max(peak.get(key, 0.0), mb)
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(peak.items())) or "n/a"


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{s}: {n:,}" for s, n in counts.items()) or "none"


def _place_order_rows(po: dict[str, Any]) -> list[str]:
    if "cases" not in po:
        return [f"| place-order | failed | {po.get('error')} | |"] if po else []
    rows = []
    for case, by_c in po["cases"].items():
        for c, block in by_c.items():
            where = f"place-order {case}, 3 lines, wrk -c{c}"
            for app in ("orderhub", "bare"):
                s = block[app]
                target = TARGETS["hot"] if case == "hot" and app == "orderhub" else ""
                rows.append(
                    f"| {where} | {app}: req/s (2xx) · p50 · p95 · p99 ms · 5xx · 503 per run "
                    f"| {fmt(s['ok_rps'], '', 0)} · {fmt(s['p50_ms'])} · {fmt(s['p95_ms'])} · "
                    f"{fmt(s['p99_ms'])} · {fmt(s['n_5xx'], '', 0)} · {fmt(s['n_503'], '', 0)} "
                    f"| {target} |"
                )
            st = block["statuses"]
            rows.append(
                f"| {where} | statuses, all runs: orderhub · bare | "
                f"{_statuses(st['orderhub'])} · {_statuses(st['bare'])} | |"
            )
            rows.append(
                f"| {where} | orderhub / bare throughput | {fmt(block['ratio'], '×', 2)} | "
                f"{TARGETS['ratio']} |"
            )
    f = po["fixed_rate"]
    s = f["summary"]
    rows.append(
        f"| place-order spread at 70 % of its best ({f['target_rps']:.0f}/s, open loop) | "
        f"achieved/s · p50 · p95 · p99 ms · non-2xx · socket errors · unsent (>5 s late) | "
        f"{fmt(s['achieved_rps'], '', 0)} · {fmt(s['p50_ms'])} · {fmt(s['p95_ms'])} · "
        f"{fmt(s['p99_ms'])} · {fmt(s['non_2xx'], '', 0)} · {fmt(s['errors'], '', 0)} · "
        f"{fmt(s.get('unsent', {}), '', 0)} | {TARGETS['fixed']} |"
    )
    rows.append(f"| place-order | RSS MB (peak seen) | {_rss(po['rss_mb'])} | {TARGETS['rss']} |")
    return rows


def _lag_rows(lg: dict[str, Any]) -> list[str]:
    if "by_rate" not in lg:
        return [f"| commit → timeline | failed | {lg.get('error')} | |"] if lg else []
    rows = []
    for block in lg["by_rate"].values():
        s = block["summary"]
        where = f"commit → timeline at {block['target_rps']:.0f}/s"
        censored = sum(x["p99_ms"] is None for x in block["runs"])
        note = (
            f" (p99 over the runs where it was seen; in {censored} of {len(block['runs'])} it "
            f"fell on an order not visible at the drain wait's end)"
            if censored
            else ""
        )
        rows.append(
            f"| {where} (serve+relay+worker, 3 lines, HTTP ERP) | achieved/s · p50 · p95 · p99 ms "
            f"· not visible after drain wait | {fmt(s['achieved_rps'], '', 0)} · "
            f"{fmt(s['p50_ms'], '', 0)} · {fmt(s['p95_ms'], '', 0)} · {fmt(s['p99_ms'], '', 0)} · "
            f"{fmt(s['not_visible'], '', 0)}{note} | {TARGETS['lag']} |"
        )
        if "backlog_at_load_end" in s:
            rows.append(
                f"| {where} | not projected when the load ended · work left at the end (unrelayed "
                f"events + open deliveries) · ERP bookings | {fmt(s['backlog_at_load_end'], '', 0)} "
                f"· {fmt(s['unfinished_at_end'], '', 0)} · {fmt(s['erp_booked'], '', 0)} | "
                f"backlog flat |"
            )
        per = block["cpu_ms_per_order"]
        rows.append(
            f"| {where} | CPU ms per order placed (load phase): {' · '.join(per)} · machine busy "
            f"% of all cores | {' · '.join(fmt(per[n], '', 1) for n in per)} · "
            f"{fmt(s['machine_busy_pct'], '', 0)} | {TARGETS['cpu']} |"
        )
    runs = [x for block in lg["by_rate"].values() for x in block["runs"]]
    rows.append(
        f"| commit → timeline | RSS MB (peak seen) | {_rss(*[x['rss_mb'] for x in runs])} | "
        f"{TARGETS['rss']} |"
    )
    return rows


def _key_flood_rows(kf: dict[str, Any]) -> list[str]:
    if "flooded" not in kf:
        return [f"| key flood | failed | {kf.get('error')} | |"] if kf else []
    rows = []
    for label in ("quiet", "flooded"):
        s = kf[label]
        rows.append(
            f"| place-order at {kf['rate']:.0f}/s, {label} (beside it when flooded: "
            f"{kf['flood_rate'] * kf['seconds']:,.0f} requests with made-up keys in "
            f"{kf['seconds']:.0f} s) | p50 · p99 ms · non-2xx · errors | {fmt(s['p50_ms'])} · "
            f"{fmt(s['p99_ms'])} · {fmt(s['non_2xx'], '', 0)} · {fmt(s['errors'], '', 0)} | "
            f"{TARGETS['flood'] if label == 'flooded' else ''} |"
        )
    return rows


def markdown(r: dict[str, Any]) -> str:
    out = [
        f"# orderhub bench, {r['date']} ({r['mode']} mode)",
        "",
        f"Median of {r['runs_per_figure']} runs, (min–max) in brackets. Machine: "
        f"{r['machine']['cpus']} CPUs, PostgreSQL {r['machine']['postgresql']}, Python "
        f"{r['machine']['python']}; load average at start {r['machine']['loadavg_at_start']}.",
        "",
        "| scenario | figure | measured | target |",
        "|---|---|---|---|",
    ]
    out += _place_order_rows(r.get("place_order", {}))
    out += _lag_rows(r.get("lag", {}))
    rl = r.get("relay", {})
    if "one_relay" in rl:
        out.append(
            f"| relay, {rl['events']:,} events pre-filled | 1 relay events/s | "
            f"{fmt(rl['one_relay']['summary']['events_per_s'], '', 0)} | {TARGETS['relay']} |"
        )
        out.append(
            f"| relay | 2 relays events/s | "
            f"{fmt(rl['two_relays']['summary']['events_per_s'], '', 0)} | |"
        )
        pw = rl["projection_worker"]
        out.append(
            f"| projection in `orderhub worker` (8 threads, bounded {pw['bounded_seconds']} s) | "
            f"events/s | {fmt(pw['summary']['events_per_s'], '', 0)} | {TARGETS['projection']} |"
        )
        blocks = [x["rss_mb"] for x in rl["one_relay"]["runs"] + rl["two_relays"]["runs"]]
        blocks += [x["rss_mb"] for x in pw["runs"]]
        out.append(f"| relay / worker | RSS MB (peak seen) | {_rss(*blocks)} | {TARGETS['rss']} |")
    elif rl:
        out.append(f"| relay | failed | {rl.get('error')} | |")
    q = r.get("queries", {})
    if "by_size" in q:
        for size, block in q["by_size"].items():
            for e in ("order", "timeline", "search"):
                s = block[e]["summary"]
                out.append(
                    f"| GET {e} at {int(size):,} orders (wrk -c4) | req/s · p50 · p99 ms · "
                    f"non-2xx | {fmt(s['rps'], '', 0)} · {fmt(s['p50_ms'], '', 2)} · "
                    f"{fmt(s['p99_ms'], '', 2)} · {fmt(s['non_2xx'], '', 0)} | p99 ≤ 10 ms |"
                )
        sizes = q["sizes"]
        for e, g in q["growth"].items():
            out.append(
                f"| GET {e} growth {sizes[0]:,}→{sizes[-1]:,} | p50 · p99 | ×{g['p50']} · "
                f"×{g['p99']} | {TARGETS['queries']} |"
            )
        out.append(
            f"| queries | API RSS MB (peak seen) | "
            f"{_rss(*[b['rss_mb'] for b in q['by_size'].values()])} | {TARGETS['rss']} |"
        )
    elif q:
        out.append(f"| queries | failed | {q.get('error')} | |")
    out += _key_flood_rows(r.get("key_flood", {}))
    out.append("")
    for note in r.get("not_measured", []):
        out.append(f"- Not measured: {note}.")
    out.append(
        f"- Total time: {r.get('total_seconds')} s; per scenario: {r.get('scenario_seconds')}."
    )
    return "\n".join(out) + "\n"

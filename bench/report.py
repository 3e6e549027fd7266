"""Figures, ratios to the baselines, targets, and the report files (Markdown + JSON)."""

import json
import statistics
from pathlib import Path

from .loadgen import percentile  # nearest rank, the definition wrk uses
from .workloads import ALL

# Targets for a 2-core machine and a million patients (docs/performance.md). On a small
# database they are informative only: a pass there promises nothing at scale.
# Throughput floors are fractions of the bare Django app's (each endpoint's min_bare_ratio:
# 0.1, 0.3 for patient list and detail, 0.5 for this app's request path with the bare query).
SINGLE_P95_MS = 25  # a list, search or detail endpoint, one request at a time
SINGLE_P50_MS = 20  # two-week availability and the day view, one request at a time
SINGLE_P50_ENDPOINTS = ("availability_2w", "day_calendar")
BOOKING_P99_MS = 300  # at half the booking's saturation rate
SEARCH_DB_P95_MS = 15  # EXPLAIN ANALYZE planning + execution, every query of a search
AVAILABILITY_P95_MS = 100  # at half its saturation rate
# Fewer answers than this in a measured run and its percentiles mean little: the report says so
# and the run's targets fail (a longer --duration, or a quieter machine, is needed).
MIN_REQUESTS = 20


def _ms(us) -> float | None:
    return None if us is None else round(us / 1000, 2)


def _queries(samples: list) -> dict:
    if not samples:
        return {"mean": None, "min": None, "max": None, "samples": 0}
    return {
        "mean": round(statistics.fmean(samples), 2),
        "min": min(samples),
        "max": max(samples),
        "samples": len(samples),
    }


def _db(samples: list) -> dict:
    return {"p50": percentile(samples, 50), "p95": percentile(samples, 95)}


def problems(figures: dict) -> str:
    """Why a measured run cannot be trusted ("" when it can)."""
    found = []
    if figures.get("unexpected"):
        found.append(f"{figures['unexpected']} unexpected answers")
    if figures.get("exhausted"):
        found.append("ran out of prepared requests")
    if (figures.get("requests") or 0) < MIN_REQUESTS:
        found.append(f"only {figures.get('requests') or 0} answers (fewer than {MIN_REQUESTS})")
    return "; ".join(found)


def _unexpected(statuses: dict, errors: dict, expect: tuple[int, ...]) -> int:
    wrong = sum(n for code, n in statuses.items() if int(code) not in expect)
    return wrong + sum(v for k, v in errors.items() if k != "status")


def from_wrk(raw: dict, expect: tuple[int, ...]) -> dict:
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 2) if seconds else None,
        "latency_ms": {k: _ms(latency[k]) for k in ("p50", "p90", "p95", "p99", "max")},
        "queries": _queries(raw["queries"]),
        "db_ms": _db(raw["db_ms"]),
        "statuses": raw["statuses"],
        "errors": raw["errors"],
        "unexpected": _unexpected(raw["statuses"], raw["errors"], expect),
        "exhausted": bool(raw.get("exhausted")),
        "command": raw.get("command", ""),
    }


def from_loadgen(raw: dict, expect: tuple[int, ...]) -> dict:
    return {
        "tool": "bench.loadgen",
        "target_rate": round(raw["target_rate"], 2),
        "achieved_rate": raw["achieved_rate"],
        "requests": raw["completed"],
        "seconds": raw["sent_seconds"],
        "latency_ms": {k: None if v is None else round(v, 2) for k, v in raw["latency_ms"].items()},
        "queries": _queries(raw["queries"]),
        "db_ms": _db(raw["db_ms"]),
        "statuses": raw["statuses"],
        "errors": raw["errors"],
        "unexpected": _unexpected(raw["statuses"], raw["errors"], expect),
        "command": raw.get("command", ""),
    }


def combine_rounds(rounds: list[dict]) -> dict:
    """A baseline measured before and after the endpoints: the mean, and how far they drifted."""
    if len(rounds) == 1:
        return {**rounds[0], "rounds": rounds}
    rps = [r["rps"] for r in rounds]
    combined = {
        "tool": "wrk",
        "rps": round(statistics.fmean(rps), 2),
        "latency_ms": {
            k: round(statistics.fmean(r["latency_ms"][k] for r in rounds), 2)
            for k in ("p50", "p90", "p95", "p99", "max")
        },
        "queries": rounds[0]["queries"],
        "db_ms": rounds[0]["db_ms"],
        "unexpected": sum(r["unexpected"] for r in rounds),
        "drift": round((rps[-1] - rps[0]) / rps[0], 3) if rps[0] else None,
        "rounds": rounds,
    }
    return combined


def ratios(figures: dict, baseline: dict) -> dict:
    """Throughput as a fraction of the baseline's; latencies and queries as multiples of it."""

    def div(a, b):
        return round(a / b, 3) if a is not None and b else None

    return {
        "rps": div(figures.get("rps"), baseline.get("rps")),
        **{
            k: div(figures["latency_ms"].get(k), baseline["latency_ms"].get(k)) for k in ("p50", "p95", "p99")
        },
        "queries": div(figures["queries"]["mean"], baseline["queries"]["mean"]),
    }


def targets(endpoints: dict, search_db: dict | None, baselines: dict | None = None) -> list[dict]:
    rows = []

    def add(name, description, measured, passed, note=""):
        rows.append(
            {"target": name, "description": description, "measured": measured, "passed": passed, "note": note}
        )

    def bare_ratio(figures: dict) -> float | None:
        return figures.get("ratios", {}).get("baseline_bare", {}).get("rps")

    path = (baselines or {}).get("baseline_query")
    bare = (baselines or {}).get("baseline_bare")
    if path and bare and "skipped" not in path and "skipped" not in bare:
        ratio = ratios(path, bare)["rps"]
        floor = ALL["baseline_query"].min_bare_ratio
        add(
            "request_path_throughput",
            f"This app's request path (the bare app's query): throughput >= {floor}x the bare app",
            f"{ratio}x" if ratio is not None else "n/a",
            ratio is not None and ratio >= floor,
        )
    for name, entry in endpoints.items():
        endpoint = ALL[name]
        if "saturation" not in entry:
            continue
        if endpoint.list_or_detail:
            ratio = bare_ratio(entry["saturation"])
            issue = problems(entry["saturation"])
            floor = endpoint.min_bare_ratio
            add(
                f"{name}_throughput",
                f"{endpoint.title}: throughput >= {floor}x the bare app",
                f"{ratio}x" if ratio is not None else "n/a",
                bool(not issue and ratio is not None and ratio >= floor),
                issue,
            )
        single = entry.get("single")
        if single is None:
            continue
        issue = problems(single)
        if endpoint.list_or_detail:
            p95 = single["latency_ms"]["p95"]
            add(
                f"{name}_single_p95",
                f"{endpoint.title}: p95 < {SINGLE_P95_MS} ms, one request at a time",
                f"{p95} ms",
                bool(not issue and p95 is not None and p95 < SINGLE_P95_MS),
                issue,
            )
        if name in SINGLE_P50_ENDPOINTS:
            p50 = single["latency_ms"]["p50"]
            add(
                f"{name}_single_p50",
                f"{endpoint.title}: p50 < {SINGLE_P50_MS} ms, one request at a time",
                f"{p50} ms",
                bool(not issue and p50 is not None and p50 < SINGLE_P50_MS),
                issue,
            )
    booking = endpoints.get("booking", {})
    if "half_rate" in booking:
        half = booking["half_rate"]
        p99 = half["latency_ms"]["p99"]
        issue = problems(half)
        add(
            "booking_p99",
            f"Booking: p99 < {BOOKING_P99_MS} ms at half the saturation rate",
            f"{p99} ms at {half['target_rate']}/s",
            bool(not issue and p99 is not None and p99 < BOOKING_P99_MS),
            issue,
        )
    if search_db is not None:
        add(
            "search_db_p95",
            f"Patient search: p95 < {SEARCH_DB_P95_MS} ms at the database (EXPLAIN ANALYZE)",
            f"{search_db['p95_ms']} ms over {search_db['runs']} runs",
            search_db["p95_ms"] is not None and search_db["p95_ms"] < SEARCH_DB_P95_MS,
        )
        add(
            "search_index_scan",
            "Patient search: always an index scan (no sequential scan of the patients table)",
            f"{len(search_db['seq_scan_terms'])} of {search_db['terms']} terms with a sequential scan",
            not search_db["seq_scan_terms"],
            ", ".join(search_db["seq_scan_terms"][:5]),
        )
    availability = endpoints.get("availability_2w", {})
    if "half_rate" in availability:
        half = availability["half_rate"]
        p95 = half["latency_ms"]["p95"]
        issue = problems(half)
        add(
            "availability_p95",
            f"Availability, two weeks: p95 < {AVAILABILITY_P95_MS} ms at half the saturation rate",
            f"{p95} ms at {half['target_rate']}/s",
            bool(not issue and p95 is not None and p95 < AVAILABILITY_P95_MS),
            issue,
        )
        samples = [availability["saturation"]["queries"], half["queries"]]
        low = min((s["min"] for s in samples if s["min"] is not None), default=None)
        high = max((s["max"] for s in samples if s["max"] is not None), default=None)
        add(
            "availability_constant_queries",
            "Availability, two weeks: the same number of queries for every request",
            f"{low}..{high} queries" if low is not None else "n/a",
            low is not None and low == high,
        )
    return rows


# --- writing ----------------------------------------------------------------------------------


def write(report: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    md_path = out_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return md_path, json_path


def _f(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*columns: str, left: int = 1) -> list[str]:
    """A table's header; the first ``left`` columns are text, the others right-aligned numbers."""
    return [_row(*columns), _row(*(["---"] * left + ["---:"] * (len(columns) - left)))]


def _lat(figures: dict, key: str) -> str:
    return _f(figures["latency_ms"][key])


def markdown(report: dict) -> str:
    m, d, run = report["machine"], report["dataset"], report["run"]
    loads = [" / ".join(_f(x, 2) for x in m[k]) for k in ("loadavg_before", "loadavg_after")]
    commit = f" at commit `{report['commit']}`" if report.get("commit") else ""
    lines = [
        "# HTTP benchmark",
        "",
        f"Generated {report['generated_at']} by `{report['command']}`{commit}.",
        "",
        f"- **Machine**: {m['cores']} cores, {m['memory_gib']} GiB; load average {loads[0]} before, "
        f"{loads[1]} after (1/5/15 min); PostgreSQL {m['postgres']}, Python {m['python']}.",
        f"- **Server**: gunicorn {m['gunicorn']} with gunicorn.conf.py, {run['workers']} "
        f"{run['worker_class']} workers, DEBUG off, HTTPS settings on (requests come with "
        "X-Forwarded-Proto: https, as from the TLS proxy).",
        f"- **Load**: wrk, {run['connections']} connections, {run['threads']} thread(s), "
        f"{run['duration']} s per endpoint after {run['warmup']} s of warm-up; latency targets at "
        "half the saturation rate with bench.loadgen (constant arrival rate, latency counted from "
        "when each request was due).",
        f"- **Dataset** (`{d['database']}`): {d['patients']:,} patients, {d['appointments']:,} "
        f"appointments, {d['encounters']:,} encounters, {d['recalls']:,} recalls.",
        "",
        "Ratios: throughput as a fraction of the baseline's (higher is better); latencies and queries "
        "as multiples of the baseline's (lower is better). API endpoints are compared with the bare "
        "DRF view and the one-lookup Django view, pages with the one-lookup view; every endpoint with the "
        "bare Django app (a separate application with no middleware and one query, bench/bare.py, on "
        "its own gunicorn with the same configuration and workers).",
        "",
    ]
    if report["targets"]:
        lines += ["## Targets", "", *_header("target", "measured", "result", left=3)]
        for t in report["targets"]:
            verdict = ("pass" if t["passed"] else "**FAIL**") + (f" ({t['note']})" if t["note"] else "")
            lines.append(_row(t["description"], t["measured"], verdict))
        lines.append("")
    lines += [
        "## Endpoints",
        "",
        "Saturation: wrk with the connections above; single: one connection, one request at a time.",
        "",
        *_header(
            "endpoint",
            "req/s",
            "x bare",
            "x one-lookup",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "single p50 ms",
            "single p95 ms",
            "queries/req",
            "DB ms p95",
            "problems",
        ),
    ]
    for name, entry in report["endpoints"].items():
        title = ALL[name].title
        if "skipped" in entry:
            lines.append(_row(title, f"skipped: {entry['skipped']}", *[""] * 10))
            continue
        s = entry["saturation"]
        single = entry.get("single")
        q = s["queries"]
        queries = _f(q["mean"]) if q["min"] == q["max"] else f"{_f(q['mean'])} ({q['min']}-{q['max']})"
        flags = "; ".join(x for x in (problems(s), problems(single) if single else "") if x) or "-"
        lines.append(
            _row(
                title,
                _f(s["rps"]),
                _x(s["ratios"].get("baseline_bare", {}).get("rps")),
                _x(s["ratios"].get("baseline_pk", {}).get("rps")),
                _lat(s, "p50"),
                _lat(s, "p95"),
                _lat(s, "p99"),
                _lat(single, "p50") if single else "-",
                _lat(single, "p95") if single else "-",
                queries,
                _f(s["db_ms"]["p95"]),
                flags,
            )
        )
    lines += [
        "",
        "Latency as multiples of the one-lookup baseline's, and queries per request as a multiple "
        "of its one query:",
        "",
        *_header("endpoint", "p50", "p95", "p99", "queries"),
    ]
    for name, entry in report["endpoints"].items():
        if "saturation" in entry:
            r = entry["saturation"]["ratios"].get("baseline_pk", {})
            lines.append(_row(ALL[name].title, *(_x(r.get(k)) for k in ("p50", "p95", "p99", "queries"))))
    half_rates = {n: e["half_rate"] for n, e in report["endpoints"].items() if "half_rate" in e}
    if half_rates:
        lines += [
            "",
            "## At half the saturation rate (constant arrival rate: bench.loadgen)",
            "",
            *_header(
                "endpoint",
                "rate /s",
                "requests",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "x one-lookup p99 (same rate)",
                "queries/req",
                "problems",
            ),
        ]
        for name, h in half_rates.items():
            r = h["ratios"].get("baseline_pk", {})
            lines.append(
                _row(
                    ALL[name].title,
                    _f(h["target_rate"]),
                    h["requests"],
                    _lat(h, "p50"),
                    _lat(h, "p95"),
                    _lat(h, "p99"),
                    _x(r.get("p99")),
                    _f(h["queries"]["mean"]),
                    problems(h) or "-",
                )
            )
    lines += [
        "",
        "## Baselines",
        "",
        *_header(
            "baseline",
            "req/s",
            "x bare",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "single p50 ms",
            "queries/req",
            "rounds (req/s)",
            "drift",
        ),
    ]
    bare = report["baselines"].get("baseline_bare")
    for name, b in report["baselines"].items():
        if "skipped" in b:
            lines.append(_row(ALL[name].title, f"skipped: {b['skipped']}", *[""] * 8))
            continue
        x_bare = ratios(b, bare)["rps"] if bare and "skipped" not in bare else None
        rounds = ", ".join(_f(r["rps"]) for r in b["rounds"])
        drift = "-" if b.get("drift") is None else f"{b['drift'] * 100:+.0f}%"
        lines.append(
            _row(
                ALL[name].title,
                _f(b["rps"]),
                _x(x_bare),
                _lat(b, "p50"),
                _lat(b, "p95"),
                _lat(b, "p99"),
                _lat(b["single"], "p50") if b.get("single") else "-",
                _f(b["queries"]["mean"]),
                rounds,
                drift,
            )
        )
    search = report.get("search_at_database")
    if search:
        each = search["runs"] // max(1, search["terms"])
        lines += [
            "",
            "## Patient search at the database",
            "",
            f"The API's search query for {search['terms']} of the terms sent, {each} times each under "
            f"`EXPLAIN ANALYZE` (planning + execution): p50 {_f(search['p50_ms'], 2)} ms, "
            f"p95 {_f(search['p95_ms'], 2)} ms, max {_f(search['max_ms'], 2)} ms; sequential scans "
            f"of the patients table: {', '.join(search['seq_scan_terms']) or 'none'}.",
        ]
    lines += ["", "## What was sent", "", _row("endpoint", "request", "prepared", "note")]
    lines.append(_row("---", "---", "---:", "---"))
    for name, entry in {**report["baselines"], **report["endpoints"]}.items():
        endpoint = ALL[name]
        note = entry.get("note", "") + (f"; {entry['run_note']}" if entry.get("run_note") else "")
        lines.append(
            _row(endpoint.title, f"`{endpoint.example}`", entry.get("prepared", 0), note.strip("; "))
        )
    lines += [
        "",
        "Side effects: besides the bookings and toxin sessions (and what they bring with them: "
        "planned messages, recalls, audit rows), every chart view and search is audited as usual, "
        "and the sign-in of the benchmark user is recorded.",
        "",
    ]
    return "\n".join(lines)

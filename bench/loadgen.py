"""A constant-arrival-rate HTTP load generator, run as its own process by the benchmark.

    python -m bench.loadgen --url http://127.0.0.1:8000 --requests FILE --headers FILE \\
        --rate 20 --duration 15 [--once]

wrk keeps a fixed number of connections busy: it finds the saturation throughput, but under
saturation its latencies mostly measure the queue it builds itself. A latency target "at half
the saturation rate" needs an open system instead: request i is due at start + i / rate whether
or not earlier ones have answered, and its latency is counted from when it was due, so a slow
server is not hidden by a generator that waits for it (coordinated omission). wrk2 does this
but is not packaged here; this is the same idea in the standard library's asyncio.

Input files are the ones the wrk script reads (bench/wrk/replay.lua). One connection per
request with "Connection: close", as gunicorn's sync workers answer anyway. The run is bounded:
it sends at most rate x duration requests and waits at most --timeout seconds for stragglers.
Prints one JSON object: counts, achieved rate, latency percentiles (ms), statuses and the
X-Query-Count / X-Query-Time-Ms samples.
"""

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

MAX_IN_FLIGHT = 256


def read_requests(path: str) -> list[tuple[str, str, str | None]]:
    requests = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line:
                continue
            method, target, *rest = line.split("\t")
            requests.append((method, target, rest[0] if rest and rest[0] else None))
    return requests


def read_headers(path: str) -> list[tuple[str, str]]:
    headers = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            name, sep, value = line.rstrip("\n").partition(":")
            if sep:
                headers.append((name.strip(), value.strip()))
    return headers


def raw_request(
    method: str, target: str, body: str | None, host: str, headers: list[tuple[str, str]]
) -> bytes:
    data = body.encode() if body is not None else b""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the definition wrk uses)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


async def _one(host: str, port: int, payload: bytes, timeout: float) -> tuple[int, dict[str, str]]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(payload)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def run(
    *, url: str, requests: list, headers: list, rate: float, duration: float, once: bool, timeout: float
) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    total = max(1, round(rate * duration))
    if once:
        total = min(total, len(requests))
    payloads = [
        raw_request(m, t, b, f"{host}:{port}", headers)
        for m, t, b in (requests[i % len(requests)] for i in range(total))
    ]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queries: list[int] = []
    db_ms: list[float] = []
    errors = {"connect": 0, "read": 0, "timeout": 0}
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def fire(i: int) -> None:
        due = start + i / rate
        async with gate:
            try:
                status, answer = await _one(host, port, payloads[i], timeout)
            except TimeoutError:
                errors["timeout"] += 1
                return
            except ConnectionError:
                errors["connect"] += 1
                return
            except (OSError, ValueError, IndexError):
                errors["read"] += 1
                return
        latencies.append((loop.time() - due) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if "x-query-count" in answer:
            queries.append(int(answer["x-query-count"]))
        if "x-query-time-ms" in answer:
            db_ms.append(float(answer["x-query-time-ms"]))

    tasks = []
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    sent_for = loop.time() - start
    await asyncio.gather(*tasks)
    finished = loop.time() - start
    return {
        "target_rate": rate,
        "sent": total,
        "sent_seconds": round(sent_for, 3),
        "achieved_rate": round(total / sent_for, 2) if sent_for > 0 else None,
        "completed": len(latencies),
        "finished_seconds": round(finished, 3),
        "errors": errors,
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "max": max(latencies) if latencies else None,
        },
        "statuses": statuses,
        "queries": queries,
        "db_ms": db_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--headers", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of sending")
    parser.add_argument("--once", action="store_true", help="send each request at most once")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 10_000 or not 0 < args.duration <= 3600:
        parser.error("--rate must be in (0, 10000] and --duration in (0, 3600]")
    requests = read_requests(args.requests)
    if not requests:
        parser.error("no requests in the file")
    started = time.perf_counter()
    result = asyncio.run(
        run(
            url=args.url,
            requests=requests,
            headers=read_headers(args.headers),
            rate=args.rate,
            duration=args.duration,
            once=args.once,
            timeout=args.timeout,
        )
    )
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

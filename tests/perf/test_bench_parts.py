"""The benchmark's parts that need no database: the constant-rate generator against a real HTTP
listener, and the report's arithmetic and verdicts."""

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import loadgen, report


class _SlowHandler(BaseHTTPRequestHandler):
    delay = 0.0
    seen: list = []  # shared by the handler threads on purpose

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, body, time.monotonic()))
        time.sleep(self.delay)
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("X-Query-Count", "3")
        self.send_header("X-Query-Time-Ms", "1.50")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _SlowHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(server, requests, *, rate, duration, once=False):
    return asyncio.run(
        loadgen.run(
            url=f"http://127.0.0.1:{server.server_address[1]}",
            requests=requests,
            headers=[("Authorization", "Token abc")],
            rate=rate,
            duration=duration,
            once=once,
            timeout=10,
        )
    )


def test_loadgen_sends_at_the_given_rate_and_reads_the_query_headers(listener):
    result = _run(listener, [("GET", "/a/", None), ("GET", "/b/", None)], rate=40, duration=1)
    assert result["sent"] == result["completed"] == 40
    assert result["statuses"] == {"200": 40}
    assert result["queries"] == [3] * 40
    assert result["db_ms"] == [1.5] * 40
    arrivals = [seen[3] for seen in _SlowHandler.seen]
    # 40 requests spread over about a second, not sent in one burst.
    assert 0.8 < arrivals[-1] - arrivals[0] < 1.5
    assert {seen[1] for seen in _SlowHandler.seen} == {"/a/", "/b/"}


def test_loadgen_counts_latency_from_when_a_request_was_due(listener):
    # The listener answers in 0.3 s; requests keep coming every 50 ms regardless, so none of
    # them is measured faster than the server answers, and none waits for the previous one.
    _SlowHandler.delay = 0.3
    try:
        result = _run(listener, [("GET", "/slow/", None)], rate=20, duration=1)
    finally:
        _SlowHandler.delay = 0.0
    assert result["completed"] == 20
    assert result["latency_ms"]["p50"] >= 300
    assert result["sent_seconds"] < 1.2


def test_loadgen_once_sends_each_body_at_most_once(listener):
    bodies = [("POST", "/book/", f'{{"n": {i}}}') for i in range(5)]
    result = _run(listener, bodies, rate=50, duration=1, once=True)
    assert result["sent"] == 5
    assert result["statuses"] == {"201": 5}
    assert sorted(seen[2] for seen in _SlowHandler.seen) == sorted(b[2].encode() for b in bodies)


def _figures(rps, p50, p95, p99, queries, requests=500, unexpected=0):
    return {
        "rps": rps,
        "requests": requests,
        "latency_ms": {"p50": p50, "p90": p95, "p95": p95, "p99": p99, "max": p99},
        "queries": {"mean": queries, "min": queries, "max": queries, "samples": requests},
        "unexpected": unexpected,
    }


def test_ratios_are_throughput_fractions_and_latency_multiples():
    ratios = report.ratios(_figures(30, 20, 40, 80, 6), _figures(100, 5, 10, 20, 1))
    assert ratios == {"rps": 0.3, "p50": 4.0, "p95": 4.0, "p99": 4.0, "queries": 6.0}


def test_percentile_is_nearest_rank():
    assert report.percentile(list(range(1, 101)), 95) == 95
    assert report.percentile([7], 99) == 7
    assert report.percentile([], 50) is None


def test_targets_pass_fail_and_distrust_thin_or_wrong_runs():
    bare = _figures(100, 5, 10, 20, 1)
    chart = {"saturation": {**_figures(11, 20, 40, 80, 20)}, "single": _figures(50, 10, 24, 30, 20)}
    detail = {"saturation": {**_figures(29, 20, 40, 80, 4)}, "single": _figures(50, 10, 26, 30, 4)}
    search = {"saturation": {**_figures(50, 20, 40, 80, 5, requests=12)}}
    day = {"saturation": {**_figures(90, 20, 40, 80, 9, unexpected=3)}, "single": _figures(40, 19, 22, 30, 9)}
    for entry in (chart, detail, search, day):
        entry["saturation"]["ratios"] = {"baseline_bare": report.ratios(entry["saturation"], bare)}
    booking = {
        "saturation": _figures(40, 100, 150, 200, 27),
        "half_rate": {**_figures(20, 50, 120, 250, 27), "target_rate": 20},
    }
    endpoints = {
        "patient_chart": chart,
        "patient_detail": detail,
        "patient_search": search,
        "day_calendar": day,
        "booking": booking,
    }
    baselines = {"baseline_bare": bare, "baseline_query": _figures(49, 5, 10, 20, 1)}
    verdicts = {
        t["target"]: (t["passed"], t["note"])
        for t in report.targets(
            endpoints, {"terms": 10, "runs": 30, "p95_ms": 12.5, "seq_scan_terms": ["smith"]}, baselines
        )
    }
    assert verdicts["patient_chart_throughput"] == (True, "")  # 0.11x the bare app, 0.1 asked
    assert verdicts["patient_chart_single_p95"] == (True, "")  # 24 ms, under 25
    assert verdicts["patient_detail_throughput"][0] is False  # 0.29x, 0.3 asked of a detail
    assert verdicts["patient_detail_single_p95"][0] is False  # 26 ms
    assert verdicts["patient_search_throughput"][0] is False  # 0.5x, but only 12 answers
    assert "only 12 answers" in verdicts["patient_search_throughput"][1]
    assert verdicts["day_calendar_throughput"] == (False, "3 unexpected answers")
    assert verdicts["day_calendar_single_p50"] == (True, "")  # 19 ms, under 20
    assert verdicts["request_path_throughput"] == (False, "")  # 0.49x, 0.5 asked
    assert verdicts["booking_p99"] == (True, "")
    assert verdicts["search_db_p95"] == (True, "")  # 12.5 ms, under 15
    assert verdicts["search_index_scan"] == (False, "smith")

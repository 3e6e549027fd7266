"""The HTTP benchmark: baseline endpoints, per-request query counts and the load runner.

Nothing here is reachable in a normal deployment: the baseline routes and the query-count
middleware exist only when BENCHMARK_ENDPOINTS=1 (see docs/performance.md, "HTTP benchmark").
"""

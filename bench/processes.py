"""Worker processes as the benchmarks and the multi-process tests start them."""


def worker_argv(*, concurrency: int, loglevel: str = "WARNING", hostname: str = "") -> list[str]:
    """The command line of a worker process of this app, as the benchmarks and the multi-process
    tests start one: prefork, without the gossip, mingle and heartbeat chatter between workers
    that none of them needs."""
    import sys

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "clinic",
        "worker",
        *([f"--hostname={hostname}"] if hostname else []),
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]

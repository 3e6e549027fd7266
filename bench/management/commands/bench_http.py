"""Benchmark the HTTP endpoints on the production server and write the report.

    bin/bench                                   # everything, 15 s per endpoint
    bin/bench --endpoints patient_search,booking --duration 5

Starts gunicorn (gunicorn.conf.py, production settings, BENCHMARK_ENDPOINTS=1) on the database
of DATABASE_URL, signs in, and for each endpoint runs wrk (a separate process, a fixed number of
connections) after a warm-up; booking and availability are also driven at half their saturation
rate by bench.loadgen (a constant arrival rate). Bare baselines are measured before and after,
and every figure is also given as a ratio to them. Writes report.md and report.json (default
docs/bench/). See docs/performance.md, "HTTP benchmark".

It reads the database to prepare requests and writes only what the measured endpoints write:
bookings (into free slots near the end of the booking horizon) and toxin sessions (for patients
without one inside the reinjection interval), with their messages, recalls and audit rows. It
also creates or updates one user, ``bench_surgeon`` (role surgeon, a new random password each
run), unless --username/--password name an existing login.
"""

import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bench import report, runner, workloads
from bench.runner import BenchError
from clinic import throwaway
from patients.models import Patient
from scheduling.models import Appointment, Recall
from treatments.models import Encounter

DEFAULT_USER = "bench_surgeon"
SETTLE_MAX_SECONDS = 10.0


def _names(value: str, known: list[str], what: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CommandError(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return names


class Command(BaseCommand):
    help = "Benchmark the HTTP endpoints on gunicorn with wrk and write docs/bench/report.{md,json}."

    def add_arguments(self, parser):
        endpoint_names = [e.name for e in workloads.ENDPOINTS]
        baseline_names = [e.name for e in workloads.BASELINES]
        parser.add_argument(
            "--endpoints", default=",".join(endpoint_names), help="comma-separated; default all"
        )
        parser.add_argument(
            "--baselines", default=",".join(baseline_names), help="comma-separated; default all"
        )
        parser.add_argument(
            "--duration", type=float, default=15, help="seconds per measured run (default 15)"
        )
        parser.add_argument(
            "--single-duration",
            type=float,
            default=5,
            help="seconds of one connection, one request at a time, per endpoint (default 5)",
        )
        parser.add_argument(
            "--warmup", type=float, default=3, help="seconds of warm-up before each (default 3)"
        )
        parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
        parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
        parser.add_argument(
            "--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)"
        )
        parser.add_argument(
            "--baseline-rounds", type=int, default=2, choices=[1, 2], help="before only, or before and after"
        )
        parser.add_argument(
            "--sample", type=int, default=1000, help="patients sampled for the reads (default 1000)"
        )
        parser.add_argument(
            "--max-writes", type=int, default=5000, help="bookings / toxin sessions prepared (default 5000)"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--out", default=str(settings.BASE_DIR / "docs" / "bench"), help="report directory"
        )
        parser.add_argument(
            "--work-dir", default=str(settings.BASE_DIR / "var" / "bench"), help="inputs and server log"
        )
        parser.add_argument("--username", default=DEFAULT_USER)
        parser.add_argument(
            "--password", default="", help="sign in as an existing user instead of creating one"
        )
        parser.add_argument(
            "--profile", action="store_true", help="py-spy flame graph of the workers per endpoint"
        )
        throwaway.add_flag(
            parser, writes="booking and toxin-session endpoints book and record for sampled patients"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (DATABASE_URL).")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database has unapplied migrations: run `manage.py migrate` first.")
        self.options = options
        self.endpoint_names = _names(options["endpoints"], [e.name for e in workloads.ENDPOINTS], "endpoints")
        self.baseline_names = _names(options["baselines"], [e.name for e in workloads.BASELINES], "baselines")
        if self._writes():
            throwaway.require(options, refusing="book appointments and record toxin sessions here")
        if not 1 <= options["duration"] <= 600 or not 0 <= options["warmup"] <= 60:
            raise CommandError("--duration must be 1 to 600 s and --warmup 0 to 60 s.")
        if not 1 <= options["connections"] <= 256:
            raise CommandError("--connections must be 1 to 256.")
        if (
            options["profile"]
            and shutil.which("py-spy") is None
            and not (Path(sys.executable).parent / "py-spy").exists()
        ):
            raise CommandError("--profile needs py-spy (pip install -r requirements-dev.txt).")
        try:
            runner.wrk_path()
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        # A SIGTERM (a CI timeout, a kill) must still stop gunicorn: make it unwind like ^C.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._run()
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            signal.signal(signal.SIGTERM, previous)

    # --- the run ------------------------------------------------------------------------------

    def _run(self) -> None:
        o = self.options
        started_at = timezone.now()
        loadavg_before = list(os.getloadavg())
        work_dir = Path(o["work_dir"]) / started_at.strftime("%Y%m%dT%H%M%S")
        work_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir = work_dir
        rng = random.Random(o["seed"])
        dataset = self._dataset()
        self.stdout.write(
            f"Database {dataset['database']}: {dataset['patients']:,} patients, "
            f"{dataset['appointments']:,} appointments, {dataset['encounters']:,} encounters."
        )

        self.stdout.write("Preparing requests ...")
        patients = workloads.sample_patients(rng, max(o["sample"], o["max_writes"] if self._writes() else 0))
        read_patients = patients[: o["sample"]]
        prepared = self.prepared = {}
        for name in [*self.baseline_names, *self.endpoint_names]:
            endpoint = workloads.ALL[name]
            pool = patients if endpoint.writes else read_patients
            prepared[name] = workloads.build(
                name, rng=rng, patients=pool, max_writes=o["max_writes"], now=started_at
            )
            load = prepared[name]
            self.stdout.write(f"  {name}: {load.skipped or f'{len(load.requests)} requests'}")

        username, password = self._user()
        self.stdout.write("Starting gunicorn ...")
        server = runner.Server.start(workers=o["workers"], log_path=work_dir / "gunicorn.log")
        self.server = server
        self.bare = None
        try:
            if any(workloads.ALL[n].kind == "bare" for n in self.baseline_names):
                self.stdout.write("Starting the bare app (bench/bare.py) ...")
                self.bare = runner.Server.start(
                    workers=o["workers"], log_path=work_dir / "gunicorn-bare.log", app="bench.bare"
                )
            workers = len(server.worker_pids())
            self.stdout.write(f"  {server.url}, {workers} workers; log {server.log_path}")
            auth = {
                "api": runner.api_token(server.url, username=username, password=password),
                "page": runner.sign_in(server.url, username=username, password=password),
                "baseline": {},
                "bare": {},
            }
            baselines = {name: [] for name in self.baseline_names}
            skipped_baselines = {}
            for name in self.baseline_names:
                if prepared[name].skipped:
                    skipped_baselines[name] = prepared[name].skipped
                    continue
                baselines[name].append(self._saturation(name, prepared[name].requests, auth))
            singles = {
                name: self._single(name, prepared[name].requests, auth)
                for name in self.baseline_names
                if name not in skipped_baselines
            }
            results = {}
            for name in self.endpoint_names:
                results[name] = self._endpoint(name, prepared[name], auth)
            if o["baseline_rounds"] == 2:
                for name in self.baseline_names:
                    if name not in skipped_baselines:
                        baselines[name].append(self._saturation(name, prepared[name].requests, auth))
        finally:
            server.stop()
            if self.bare is not None:
                self.bare.stop()

        search_db = None
        if "patient_search" in results and "terms" in prepared["patient_search"].extra:
            self.stdout.write("Patient search under EXPLAIN ANALYZE ...")
            terms = prepared["patient_search"].extra["terms"][:60]
            raw = workloads.search_at_database(terms)
            search_db = {
                "terms": raw["terms"],
                "runs": raw["runs"],
                "p50_ms": _round(report.percentile(raw["times_ms"], 50)),
                "p95_ms": _round(report.percentile(raw["times_ms"], 95)),
                "max_ms": _round(max(raw["times_ms"], default=None)),
                "seq_scan_terms": raw["seq_scan_terms"],
            }

        combined = {}
        for name in self.baseline_names:
            if name in skipped_baselines:
                combined[name] = {"skipped": skipped_baselines[name]}
            else:
                combined[name] = report.combine_rounds(baselines[name])
                combined[name]["single"] = singles[name]
            combined[name]["prepared"] = len(prepared[name].requests)
            combined[name]["note"] = prepared[name].note
        for name, entry in results.items():
            entry["prepared"] = len(prepared[name].requests)
            entry["note"] = prepared[name].note
            for phase in ("saturation", "half_rate"):
                if phase in entry:
                    # At saturation against the baselines' saturation; at half rate against the
                    # baselines driven at the same arrival rate.
                    against = combined if phase == "saturation" else entry[phase].get("baselines_at_rate", {})
                    entry[phase]["ratios"] = {
                        b: report.ratios(entry[phase], against[b])
                        for b in workloads.ALL[name].baselines
                        if b in against and "skipped" not in against[b]
                    }
        document = {
            "generated_at": started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": self._command_line(),
            "commit": _git_commit(),
            "machine": {
                "cores": os.cpu_count(),
                "memory_gib": _memory_gib(),
                "loadavg_before": [round(x, 2) for x in loadavg_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "python": platform.python_version(),
                "postgres": _postgres_version(),
                "gunicorn": _gunicorn_version(),
                "platform": platform.platform(),
            },
            "run": {
                "duration": o["duration"],
                "warmup": o["warmup"],
                "connections": o["connections"],
                "single_duration": o["single_duration"],
                "threads": o["threads"],
                "workers": workers,
                "worker_class": "gthread" if int(os.environ.get("GUNICORN_THREADS", "1")) > 1 else "sync",
                "baseline_rounds": o["baseline_rounds"],
                "seed": o["seed"],
                "user": username,
            },
            "dataset": dataset,
            "baselines": combined,
            "endpoints": results,
            "search_at_database": search_db,
        }
        document["targets"] = report.targets(results, search_db, combined)
        md_path, json_path = report.write(document, Path(o["out"]))
        self.stdout.write("")
        for line in report.markdown(document).splitlines():
            if line.startswith("| ") and ("pass" in line or "FAIL" in line):
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Report: {md_path} and {json_path}"))

    def _endpoint(self, name: str, load: workloads.Workload, auth: dict) -> dict:
        endpoint = workloads.ALL[name]
        if load.skipped:
            self.stdout.write(f"{name}: skipped ({load.skipped})")
            return {"skipped": load.skipped}
        requests = list(load.requests)
        # One request first, alone: a wrong payload or a refused sign-in must stop the run with
        # its answer, not turn into thousands of fast errors reported as throughput.
        method, path, body = requests[0]
        status, _, answer = runner.request(
            self.server.url,
            method,
            path,
            body=body.encode() if body else None,
            headers={**auth[endpoint.kind], **({"Content-Type": "application/json"} if body else {})},
        )
        if status not in endpoint.expect:
            raise BenchError(f"{name}: {method} {path} answered {status}: {answer[:300]!r}")
        if endpoint.writes:
            return self._writes_run(name, requests[1:], auth)
        entry = {"saturation": self._saturation(name, requests, auth)}
        entry["single"] = self._single(name, requests, auth)
        if endpoint.half_rate:
            rate = entry["saturation"]["rps"] / 2
            duration = self.options["duration"]
            entry["half_rate"] = self._constant_rate(name, requests, auth, rate, duration)
            entry["half_rate"]["baselines_at_rate"] = self._baselines_at(name, auth, rate, duration)
        return entry

    def _writes_run(self, name: str, requests: list, auth: dict) -> dict:
        """Each prepared write is sent once: warm-up, saturation and half rate get their own."""
        o = self.options
        endpoint = workloads.ALL[name]
        warm_count = min(len(requests) // 5, 300) if o["warmup"] else 0
        warm, rest = requests[:warm_count], requests[warm_count:]
        estimate = None
        if warm:
            raw = self._wrk(name, warm, auth, o["warmup"], once=True, tag="warmup")
            estimate = raw["requests"] / (raw["duration_us"] / 1e6)
        share = 0.6 if endpoint.half_rate else 1.0
        saturation_part = rest[: int(len(rest) * share)]
        half_part = rest[len(saturation_part) :]
        duration = o["duration"]
        note = ""
        if estimate and estimate * duration > 0.8 * len(saturation_part):
            duration = max(1.0, 0.8 * len(saturation_part) / estimate)
            note = (
                f"saturation run shortened to {duration:.0f} s "
                f"to fit {len(saturation_part)} prepared requests"
            )
        entry = {
            "saturation": self._saturation(
                name, saturation_part, auth, seconds=duration, once=True, warm=False
            )
        }
        if endpoint.half_rate and entry["saturation"]["rps"]:
            rate = entry["saturation"]["rps"] / 2
            seconds = min(o["duration"], len(half_part) / rate)
            if seconds < o["duration"]:
                note += ("; " if note else "") + f"half-rate run shortened to {seconds:.0f} s"
            if seconds >= 1:
                entry["half_rate"] = self._constant_rate(name, half_part, auth, rate, seconds, once=True)
                entry["half_rate"]["baselines_at_rate"] = self._baselines_at(name, auth, rate, seconds)
        if note:
            entry["run_note"] = note
        return entry

    def _baselines_at(self, name: str, auth: dict, rate: float, seconds: float) -> dict:
        """The endpoint's baselines at its own constant arrival rate, for latency ratios that
        compare like with like."""
        found = {}
        for baseline in workloads.ALL[name].baselines:
            load = self.prepared.get(baseline)
            if baseline in self.baseline_names and load is not None and not load.skipped:
                found[baseline] = self._constant_rate(baseline, load.requests, auth, rate, seconds)
        return found

    def _saturation(
        self,
        name: str,
        requests: list,
        auth: dict,
        *,
        seconds: float | None = None,
        once: bool = False,
        warm: bool = True,
    ) -> dict:
        o = self.options
        endpoint = workloads.ALL[name]
        if warm and o["warmup"]:
            self._wrk(name, requests, auth, o["warmup"], once=once, tag="warmup")
        before = list(os.getloadavg())
        profile = self._profile_start(name) if o["profile"] else None
        raw = self._wrk(name, requests, auth, seconds or o["duration"], once=once, tag="run")
        if profile is not None:
            self._profile_stop(profile)
        figures = report.from_wrk(raw, endpoint.expect)
        figures["loadavg_before"] = [round(x, 2) for x in before]
        figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        self.stdout.write(
            f"{name}: {figures['rps']} req/s, p50 {figures['latency_ms']['p50']} ms, "
            f"p99 {figures['latency_ms']['p99']} ms, {figures['queries']['mean']} queries/request"
            + (
                f", {figures['unexpected']} unexpected answers {figures['statuses']}"
                if figures["unexpected"]
                else ""
            )
        )
        return figures

    def _single(self, name: str, requests: list, auth: dict) -> dict:
        """One connection, one request at a time: the latency a lone user sees."""
        seconds = self.options["single_duration"]
        raw = self._wrk(name, requests, auth, seconds, once=False, tag="single", connections=1)
        figures = report.from_wrk(raw, workloads.ALL[name].expect)
        latency = figures["latency_ms"]
        self.stdout.write(f"{name}, one at a time: p50 {latency['p50']} ms, p95 {latency['p95']} ms")
        return figures

    def _url(self, name: str) -> str:
        return self.bare.url if workloads.ALL[name].kind == "bare" else self.server.url

    def _wrk(
        self,
        name: str,
        requests: list,
        auth: dict,
        seconds: float,
        *,
        once: bool,
        tag: str,
        connections: int | None = None,
    ) -> dict:
        endpoint = workloads.ALL[name]
        paths = runner.write_inputs(self.work_dir, f"{name}-{tag}", requests, auth[endpoint.kind])
        raw = runner.run_wrk(
            url=self._url(name),
            requests_path=paths[0],
            headers_path=paths[1],
            seconds=seconds,
            connections=connections or self.options["connections"],
            threads=self.options["threads"],
            once=once,
        )
        # wrk stops sending, but the workers finish what they were given: let that backlog
        # drain before the next run, or a slow endpoint's tail is counted against the next one.
        time.sleep(min(SETTLE_MAX_SECONDS, raw["latency_us"]["max"] / 1e6))
        return raw

    def _constant_rate(
        self, name: str, requests: list, auth: dict, rate: float, seconds: float, *, once: bool = False
    ) -> dict:
        endpoint = workloads.ALL[name]
        paths = runner.write_inputs(self.work_dir, f"{name}-half", requests, auth[endpoint.kind])
        before = list(os.getloadavg())
        raw = runner.run_constant_rate(
            url=self._url(name),
            requests_path=paths[0],
            headers_path=paths[1],
            rate=rate,
            seconds=seconds,
            once=once,
        )
        figures = report.from_loadgen(raw, endpoint.expect)
        figures["loadavg_before"] = [round(x, 2) for x in before]
        figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        self.stdout.write(
            f"{name} at {rate:.1f}/s: p50 {figures['latency_ms']['p50']} ms, "
            f"p95 {figures['latency_ms']['p95']} ms, p99 {figures['latency_ms']['p99']} ms"
            + (
                f", {figures['unexpected']} unexpected answers {figures['statuses']}"
                if figures["unexpected"]
                else ""
            )
        )
        return figures

    # --- profiling ----------------------------------------------------------------------------

    def _profile_start(self, name: str):
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        out = self.work_dir / f"{name}.svg"
        return subprocess.Popen(  # noqa: S603 (py-spy on our own server)
            [
                spy,
                "record",
                "--pid",
                str(self.server.process.pid),
                "--subprocesses",
                "--idle",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _profile_stop(self, process) -> None:
        process.send_signal(2)  # SIGINT: py-spy writes the flame graph and exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

    # --- set-up -------------------------------------------------------------------------------

    def _writes(self) -> bool:
        return any(workloads.ALL[n].writes for n in self.endpoint_names)

    def _user(self) -> tuple[str, str]:
        o = self.options
        if o["password"]:
            return o["username"], o["password"]
        group = Group.objects.filter(name=workloads.BENCH_ROLE).first()
        if group is None:
            raise CommandError(f"No {workloads.BENCH_ROLE!r} role: run `manage.py migrate` first.")
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=o["username"], defaults={"first_name": "Benchmark", "last_name": "Surgeon"}
        )
        if not created and user.username != DEFAULT_USER:
            # Its password and roles would be replaced below: a colleague's account is not ours.
            raise CommandError(
                f"{user.username} already exists: pass --password to sign in as it, or choose a new name."
            )
        password = secrets.token_urlsafe(24)
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        user.groups.set([group])
        return user.username, password

    def _dataset(self) -> dict:
        return {
            "database": connection.settings_dict["NAME"],
            "patients": Patient.objects.count(),
            "appointments": Appointment.objects.count(),
            "encounters": Encounter.objects.count(),
            "recalls": Recall.objects.count(),
        }

    def _command_line(self) -> str:
        argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
        if argv[0] == "manage.py":
            argv = ["python", *argv]
        shown, hide_next = [], False
        for arg in argv:
            if hide_next or arg.startswith("--password="):
                shown.append("--password=***" if not hide_next else "***")
                hide_next = False
            elif arg == "--password":
                shown.append(arg)
                hide_next = True
            else:
                shown.append(arg)
        return " ".join(shown)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _round(value, digits: int = 2):
    return None if value is None else round(value, digits)


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return ""
    return done.stdout.strip()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _gunicorn_version() -> str:
    import gunicorn

    return gunicorn.__version__

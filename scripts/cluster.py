"""``make cluster``: PostgreSQL, two API replicas and nginx in front of them, on loopback.

Starts, in order: PostgreSQL 16 with pgvector from the ``pgserver`` wheel (no root needed; as
root it runs the server as a system user it creates); the corpus ingested into it when the store
is empty (the schema is created by Alembic on that first open); the API replicas
(``KVA_DATABASE_URL=… python -m assistant serve``, each with its own data dir for local caches
only, and one folder for the working copies of uploads, whose path names the documents); and
Debian's nginx as the balancer (deploy/nginx.conf.template, deploy/nginx-proxy.conf).
Prints ``balancer: URL`` and one ``replica: URL`` line per replica, then runs until Ctrl-C and
stops everything. ``compose.yaml`` describes the same set-up for operators.

nginx is taken from the PATH, else unpacked from Debian's package into ``.venv/nginx`` (as
scripts/setup.sh does with the dictionaries: ``apt-get download`` + ``dpkg-deb -x``; as root it
falls back to ``apt-get install``).

Example:
    .venv/bin/python scripts/cluster.py                     # state under data/cluster/
    .venv/bin/python scripts/cluster.py --replicas 1 --port 8090 --ui

The :class:`Cluster` class is what tests/test_cluster.py and benchmarks/cluster_load.py use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV_NGINX = ROOT / ".venv" / "nginx" / "usr" / "sbin" / "nginx"
PYTHON = sys.executable
DATABASE = "kva"
# Service names as compose.yaml has them: PostgreSQL, the replicas (api-a, api-b, ...), nginx.
POSTGRES_SERVICE = "postgres"
BALANCER_SERVICE = "balancer"
# What a replica is given; compose.yaml's api services set exactly these. The uploads folder
# holds only working copies (the originals are in the database), but its path becomes a
# document's source path, so all replicas name the same one (in compose: the same path in each
# container; here: one folder for the replicas on this machine). The index folder is shared so
# that the indexes of a large store are built by one replica and mapped by the others.
REPLICA_SETTINGS = (
    "KVA_DATABASE_URL",
    "KVA_DATA_DIR",
    "KVA_UPLOADS_FOLDER",
    "KVA_INDEX_FOLDER",
    "KVA_API_KEY",
)
# nginx's passive health check: one failed attempt marks a replica down for this long.
FAIL_TIMEOUT_S = 5
READY_TIMEOUT_S = 300


class PostgresUnavailable(RuntimeError):
    """pgserver could not start PostgreSQL here (no shared memory, no useradd as root, ...)."""


def replica_name(index: int) -> str:
    return f"api-{chr(ord('a') + index)}"


def service_names(replicas: int = 2) -> list[str]:
    return [POSTGRES_SERVICE, *(replica_name(i) for i in range(replicas)), BALANCER_SERVICE]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr, flush=True)


# --- nginx ------------------------------------------------------------------------------------


def find_nginx(fetch: bool = True) -> Path | None:
    """nginx on the PATH or in /usr/sbin, else Debian's package unpacked into .venv/nginx."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx", VENV_NGINX):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    if not fetch:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        debs = sorted(Path("/var/cache/apt/archives").glob("nginx_*.deb"))
        if not debs:
            got = subprocess.run(
                ["apt-get", "download", "-qq", "nginx"],
                cwd=tmp,
                capture_output=True,
                check=False,
            )
            debs = sorted(Path(tmp).glob("nginx_*.deb")) if got.returncode == 0 else []
        if debs:
            target = VENV_NGINX.parent.parent.parent
            subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=False)
            if VENV_NGINX.is_file():
                return VENV_NGINX
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"]
        if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(cmd, env=env, capture_output=True, check=False)
        return find_nginx(fetch=False)
    return None


def render_nginx_conf(run_dir: Path, listen: int, upstreams: list[str]) -> Path:
    """deploy/nginx.conf.template with the cluster's ports and folders filled in."""
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"        server {u} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s;" for u in upstreams
    )
    # As root nginx's workers would run as "nobody" and could not write the run folder.
    user = "user root;" if os.geteuid() == 0 else ""
    text = (DEPLOY / "nginx.conf.template").read_text(encoding="utf-8")
    for key, value in {
        "@RUN@": str(run_dir),
        "@USER@": user,
        "@SERVERS@": servers,
        "@LISTEN@": f"127.0.0.1:{listen}",
        "@DEPLOY@": str(DEPLOY),
    }.items():
        text = text.replace(key, value)
    conf = run_dir / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


# --- PostgreSQL -------------------------------------------------------------------------------


class Postgres:
    """A pgserver-run PostgreSQL in ``pgdata``; :meth:`stop` and :meth:`start` simulate an outage
    (the socket and the URL stay the same)."""

    def __init__(self, pgdata: Path, *, delete: bool) -> None:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver

            self.server = pgserver.get_server(pgdata, cleanup_mode="delete" if delete else "stop")
        self.pgdata = Path(pgdata).resolve()
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
        if "(0 rows)" in exists:
            self.server.psql(f"CREATE DATABASE {DATABASE};")
        self.url = self.server.get_uri(DATABASE)
        self._start_args = self._pg_ctl_start_args()

    def _pg_ctl_start_args(self) -> list[str]:
        """What pgserver started it with: no TCP, a Unix socket in the same folder."""
        socket_dir = self.server.get_postmaster_info().socket_dir
        log_file = self.pgdata / "log"
        return ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(log_file), "start"]

    def _pg_ctl(self, args: list[str]) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(args, pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        """Stop the server now (fast shutdown: open sessions are cut)."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        self._pg_ctl(self._start_args)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.server.cleanup()


# --- the cluster ------------------------------------------------------------------------------


@dataclass
class Replica:
    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "replica.log"


@dataclass
class Cluster:
    """The whole set-up under ``root``; ``start()`` returns once the balancer answers."""

    root: Path
    replicas: int = 2
    balancer_port: int = 0
    api_key: str | None = None
    corpus: Path | None = ROOT / "corpus"
    database_url: str | None = None  # an existing server; None = start pgserver in root/pg
    temporary: bool = False  # delete PostgreSQL's data when done
    env: dict[str, str] = field(default_factory=dict)  # more KVA_* settings for every replica
    ui_port: int | None = None
    # Fills an empty store instead of ingesting ``corpus`` (the tests copy an ingested one).
    seed: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.postgres: Postgres | None = None
        self.nodes: list[Replica] = []
        self.nginx: subprocess.Popen | None = None
        self.ui: subprocess.Popen | None = None
        if not self.balancer_port:
            self.balancer_port = free_port()

    @property
    def balancer_url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    @property
    def url(self) -> str:
        assert self.database_url or self.postgres
        return self.database_url or self.postgres.url  # type: ignore[union-attr]

    def replica_env(self, data_dir: Path) -> dict[str, str]:
        settings = {
            "KVA_DATABASE_URL": self.url,
            "KVA_DATA_DIR": str(data_dir),
            "KVA_UPLOADS_FOLDER": str(self.root / "uploads"),
            "KVA_INDEX_FOLDER": str(self.root / "indexes"),
        }
        if self.api_key:
            settings["KVA_API_KEY"] = self.api_key
        assert set(settings) <= set(REPLICA_SETTINGS)
        return {**os.environ, **self.env, **settings}

    # -- start ---------------------------------------------------------------------------------

    def start(self) -> Cluster:
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError(
                "nginx is not installed and could not be fetched (apt-get download nginx)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            if self.database_url is None:
                log("starting PostgreSQL (pgserver)")
                try:
                    self.postgres = Postgres(self.root / "pg", delete=self.temporary)
                except ImportError as exc:
                    raise PostgresUnavailable(f"pgserver is not installed: {exc}") from exc
                except Exception as exc:
                    raise PostgresUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if self.seed is not None:
                self.seed(self.url)
            else:
                self._ingest_if_empty()
            self.nodes = [self._replica(i) for i in range(self.replicas)]
            for node in self.nodes:
                self._spawn(node)
            for node in self.nodes:
                self.wait_ready(node)
            self._start_nginx(nginx)
            if self.ui_port:
                self._start_ui()
        except BaseException:
            self.stop()
            raise
        return self

    def _ingest_if_empty(self) -> None:
        env = self.replica_env(self.root / "ingest")
        stats = subprocess.run(
            [PYTHON, "-m", "ingest", "stats", "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        documents = json.loads(stats.stdout).get("documents", 0) if stats.returncode == 0 else 0
        if documents or self.corpus is None:
            log(f"store has {documents} documents")
            return
        log(f"ingesting {self.corpus} into PostgreSQL (the store is empty)")
        subprocess.run(
            [PYTHON, "-m", "ingest", str(self.corpus)], env=env, cwd=ROOT, check=True
        )

    def _replica(self, index: int) -> Replica:
        name = replica_name(index)
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return Replica(name, free_port(), data_dir, self.replica_env(data_dir))

    def _spawn(self, node: Replica) -> None:
        with open(node.log_path, "ab") as out:
            node.proc = subprocess.Popen(
                [PYTHON, "-m", "assistant", "serve", "--host", "127.0.0.1"]
                + ["--port", str(node.port)],
                env=node.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the script only; it stops them in order
            )

    def wait_ready(self, node: Replica, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert node.proc is not None
            if node.proc.poll() is not None:
                tail = node.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"replica {node.name} exited ({node.proc.returncode}):\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{node.url}/readyz", timeout=5).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"replica {node.name} not ready in {timeout:.0f} s ({node.log_path})")

    def _start_nginx(self, nginx: Path) -> None:
        run_dir = self.root / "nginx"
        upstreams = [f"127.0.0.1:{n.port}" for n in self.nodes]
        conf = render_nginx_conf(run_dir, self.balancer_port, upstreams)
        self.nginx = subprocess.Popen(
            [str(nginx), "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "error.log")],
            cwd=run_dir,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                errors = (run_dir / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nginx exited ({self.nginx.returncode}):\n{errors}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.balancer_url}/healthz", timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("nginx did not answer in 30 s")

    def _start_ui(self) -> None:
        streamlit = Path(PYTHON).with_name("streamlit")
        env = {**os.environ, "API_URL": self.balancer_url}
        self.ui = subprocess.Popen(
            [str(streamlit), "run", "ui/app.py", "--server.headless", "true"]
            + ["--server.port", str(self.ui_port), "--server.address", "127.0.0.1"]
            + ["--browser.gatherUsageStats", "false"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )

    # -- faults and stop -----------------------------------------------------------------------

    def kill_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Signal replica ``index`` (its whole process group) and wait for it to exit."""
        node = self.nodes[index]
        if node.proc is not None and node.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.proc.pid, sig)
            try:
                node.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(node.proc.pid, signal.SIGKILL)
                node.proc.wait(10)

    def restart_replica(self, index: int) -> None:
        """Start replica ``index`` again on its port (nginx takes it back by itself)."""
        node = self.nodes[index]
        self.kill_replica(index, signal.SIGTERM)
        self._spawn(node)
        self.wait_ready(node)

    def stop(self) -> None:
        """nginx first (no new requests), then the replicas, the UI, PostgreSQL."""
        procs = [self.nginx, *(n.proc for n in self.nodes), self.ui]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.nginx, self.ui = None, None
        if self.postgres is not None:
            self.postgres.close()
            self.postgres = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster.py", description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port")
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "cluster")
    parser.add_argument(
        "--database-url", help="an existing PostgreSQL (with pgvector) instead of pgserver"
    )
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--ui", action="store_true", help="also start the UI on the balancer")
    parser.add_argument("--ui-port", type=int, default=8501)
    args = parser.parse_args(argv)
    cluster = Cluster(
        args.dir,
        replicas=args.replicas,
        balancer_port=args.port,
        api_key=os.environ.get("KVA_API_KEY"),
        corpus=args.corpus,
        database_url=args.database_url,
        ui_port=args.ui_port if args.ui else None,
    )
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"balancer: {cluster.balancer_url}", flush=True)
    for node in cluster.nodes:
        print(f"replica: {node.url}", flush=True)
    if cluster.ui is not None:
        print(f"ui: http://127.0.0.1:{args.ui_port}", flush=True)
    print(f"logs: {cluster.root}/api-*/replica.log; Ctrl-C stops everything", flush=True)
    reported: set[str] = set()
    while not stopping:
        for node in cluster.nodes:
            if node.proc is not None and node.proc.poll() is not None and node.name not in reported:
                reported.add(node.name)
                log(f"replica {node.name} exited ({node.proc.returncode}); see {node.log_path}")
        time.sleep(0.5)
    log("stopping")
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real processes for tests: etcd in a temporary data dir and an apiserver on loopback, on free ports.

Everything started here is stopped by its owner (fixtures in conftest.py), by PID, even when a test fails.

The apiserver runs as in production: HTTPS only, every request authenticated and authorized (Node,RBAC). One test
PKI per test run (`test_pki()`, a CA in a private temp dir) signs its serving certificate and every client's.
What a test needs to talk to it, on `ApiServer`:

    server.url                    https://127.0.0.1:<port>
    server.ca_file                the CA that verifies the server
    server.client(**kw)           an httpx.Client as the cluster admin (system:masters); async_client(**kw) too
    admin_tls()                   `verify=` for any other httpx client, as the admin
    server.admin_kubeconfig       a kubeconfig file for kubectl, kctl, lightkube, the Python client
    server.config()               an apimachinery ClientConfig as the admin (for apimachinery.client.Client)
    server.kubeconfig_for(user, groups)   a kubeconfig for another identity (a component, a test user)
    server.component_args(user, groups)   ["--kubeconfig", that file], for a component's command line

So a test written for plain HTTP converts mechanically: `httpx.Client(base_url=server.url, ...)` becomes
`server.client(...)`, `Client(server.url)` becomes `Client(server.config())`, and `--master server.url` becomes
`*server.component_args("system:kube-scheduler")` (or another component identity).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from apimachinery.kubeconfig import ClientConfig
from apimachinery.pki import CertificateAuthority, key_pem, new_key, private_dir, write_private
from tests.polling import wait_until

REPO = Path(__file__).resolve().parent.parent
ADMIN = ("kubernetes-admin", ("system:masters",))
SCHEDULER = ("system:kube-scheduler", ())
CONTROLLER_MANAGER = ("system:kube-controller-manager", ())
KUBE_PROXY = ("system:kube-proxy", ())
KUBE_DNS = (
    "system:serviceaccount:kube-system:kube-dns",
    ("system:serviceaccounts", "system:serviceaccounts:kube-system"),
)
SERVICE_CIDR_FIRST_IP = "10.96.0.1"


def node_identity(name: str) -> tuple[str, tuple[str, ...]]:
    return f"system:node:{name}", ("system:nodes",)


def netpol_identity(node: str) -> tuple[str, tuple[str, ...]]:
    """The network policy agent of `node` (apimachinery.user.netpol_agent)."""
    return f"system:kube-netpol:{node}", ("system:kube-netpols",)


class TestPKI:
    """The CA, the apiserver's serving certificate, the ServiceAccount signing key and client credentials of one
    test run, in a private (0700) temp dir removed at exit. Credentials are made once per identity and reused."""

    def __init__(self) -> None:
        self.dir = private_dir(Path(tempfile.mkdtemp(prefix="kubelite-pki-")))
        self.ca = CertificateAuthority.create("kubelite-test-ca")
        self.ca.save(self.dir)
        self.ca_file = str(self.dir / "ca.crt")
        cert, key = self.ca.issue_files(
            self.dir, "apiserver", "kube-apiserver", server=True, client=False,
            dns_names=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                       "kubernetes.default.svc.cluster.local"],
            ip_addresses=["127.0.0.1", SERVICE_CIDR_FIRST_IP],
        )  # fmt: skip
        self.apiserver_cert, self.apiserver_key = str(cert), str(key)
        self.sa_key = self.dir / "sa.key"
        write_private(self.sa_key, key_pem(new_key()))
        self.kubelet_client = self.credentials("kube-apiserver-kubelet-client")

    def apiserver_args(self) -> list[str]:
        return [
            "--tls-cert-file", self.apiserver_cert, "--tls-private-key-file", self.apiserver_key,
            "--client-ca-file", self.ca_file,
            "--service-account-signing-key-file", str(self.sa_key), "--service-account-key-file", str(self.sa_key),
            "--kubelet-client-certificate", str(self.kubelet_client[0]),
            "--kubelet-client-key", str(self.kubelet_client[1]),
            "--kubelet-certificate-authority", self.ca_file,
        ]  # fmt: skip

    @functools.cache  # noqa: B019 - one PKI per run, kept for the run
    def credentials(self, user: str, groups: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """(certificate, key) files of a client certificate for `user` in `groups`."""
        stem = "client-" + "".join(c if c.isalnum() else "-" for c in f"{user}-{'-'.join(groups)}")
        return self.ca.issue_files(self.dir, stem, user, groups=groups)

    def serving(self, name: str, ips: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:
        """A serving certificate for `name` (a kubelet's node name) and `ips`."""
        stem = "serving-" + "".join(c if c.isalnum() else "-" for c in name)
        return self.ca.issue_files(
            self.dir, stem, name, server=True, client=False, dns_names=[name, "localhost"], ip_addresses=ips
        )

    def ssl_context(self, user: str = ADMIN[0], groups: tuple[str, ...] = ADMIN[1]) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        cert, key = self.credentials(user, groups)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def kubeconfig(self, server: str, user: str = ADMIN[0], groups: tuple[str, ...] = ADMIN[1]) -> Path:
        """A kubeconfig (0600) for `user` at `server`: CA and client certificate inline, one context "kubelite"."""
        import base64

        import yaml

        cert, key = self.credentials(user, groups)
        b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
        data = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubelite", "cluster": {"server": server, "certificate-authority-data": b64(self.ca_file)}}],
            "users": [{"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
            "contexts": [{"name": "kubelite", "context": {"cluster": "kubelite", "user": user}}],
            "current-context": "kubelite",
        }  # fmt: skip
        port = server.rsplit(":", 1)[-1]
        path = self.dir / "kubeconfigs" / f"{cert.stem.removeprefix('client-')}-{port}.conf"
        private_dir(path.parent)
        write_private(path, yaml.safe_dump(data).encode())
        return path


def _groups(user: str, groups: tuple[str, ...] | None) -> tuple[str, ...]:
    if groups is not None:
        return groups
    return ADMIN[1] if user == ADMIN[0] else ()


def admin_tls() -> ssl.SSLContext:
    """`verify=` for a raw httpx client that talks to a test apiserver as the admin (CA and client certificate)."""
    return test_pki().ssl_context()


@functools.cache
def test_pki() -> TestPKI:
    pki = TestPKI()
    atexit.register(shutil.rmtree, pki.dir, True)
    return pki


_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nothing listens on, for a server a test starts a moment later. It comes from below the
    kernel's ephemeral range: a port the kernel picked (bind to 0) is also what it hands to the next outgoing
    connection, which then holds it when the server binds (a kubelet failed with "address already in use"), and
    from below the NodePort range (30000-32767, where kube-proxy may listen). Not the same port twice in one test
    process."""
    low = min(_ephemeral_low(), 30000)
    for _ in range(200):
        port = random.randrange(15000, max(low, 15001))
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free loopback port in 15000-{low - 1} after 200 tries")


def docker_ok() -> bool:
    """Whether a Docker engine answers here (tests that need one skip otherwise)."""
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def route_exists(cidr: str) -> bool:
    """Whether this machine has a route for exactly `cidr` (e.g. a cluster's guard route, left by another run)."""
    out = subprocess.run(["ip", "-j", "route", "show", "exact", cidr], capture_output=True, text=True).stdout
    return bool(json.loads(out or "[]"))


_pod_thirds_given: set[int] = set()


def free_pod_cidrs(count: int, thirds: range) -> list[str]:
    """`count` pod CIDRs 10.244.N.0/24, N from `thirds`, that no route of this machine uses now and that no other
    caller in this test run was given. Two bridges with one subnet take each other's traffic: a pod address then
    leads to the other bridge (a session-wide kubelet pair keeps its bridges to the end of the run)."""
    out = subprocess.run(["ip", "-j", "-4", "route", "show"], capture_output=True, text=True).stdout
    routed = set()
    for route in json.loads(out or "[]"):
        parts = str(route.get("dst", "")).split("/")[0].split(".")
        if len(parts) == 4 and parts[:2] == ["10", "244"]:
            routed.add(int(parts[2]))
    picked = random.sample(sorted(set(thirds) - routed - _pod_thirds_given), count)
    _pod_thirds_given.update(picked)
    return [f"10.244.{n}.0/24" for n in picked]


def freeze(proc: subprocess.Popen[bytes]) -> None:
    """SIGSTOP `proc` and return once every one of its threads has stopped: the signal is only queued when kill()
    returns, and a thread that is running may still answer a request or two before it takes effect."""
    proc.send_signal(signal.SIGSTOP)

    def stopped() -> bool:
        tasks = Path(f"/proc/{proc.pid}/task")
        states = [(t / "stat").read_text().rsplit(")", 1)[1].split()[0] for t in tasks.iterdir()]
        return all(s in ("T", "t") for s in states)

    wait_until(stopped, 5, 0.01, what=f"process {proc.pid} stopped")


class _Server:
    """A server process of ours: `start` (by the subclass), `stop` by signal, `restart`."""

    proc: subprocess.Popen[bytes] | None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig=sig)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def need_etcd() -> None:
    """Skip the test (tests/skip_policy.py makes that a failure in CI) when no etcd binary is installed."""
    if not shutil.which("etcd") and not shutil.which("/usr/bin/etcd"):
        pytest.skip("etcd is not installed (the README's test command installs it)")


class Etcd(_Server):
    """A single-member etcd on loopback with its own data dir."""

    def __init__(self) -> None:
        self.binary = shutil.which("etcd") or "/usr/bin/etcd"
        self.data_dir = tempfile.mkdtemp(prefix="kubelite-etcd-")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self.data_dir + ".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--name",
                "test",
                "--data-dir",
                self.data_dir,
                "--listen-client-urls",
                self.url,
                "--advertise-client-urls",
                self.url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{self.peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{self.peer_port}",
                "--initial-cluster",
                f"test=http://127.0.0.1:{self.peer_port}",
                "--quota-backend-bytes",
                str(2 * 1024**3),
                "--unsafe-no-fsync",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        wait_until(
            lambda: httpx.get(self.url + "/health", timeout=1).status_code == 200, 20, what="etcd health"
        )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


class ApiServer(_Server):
    """`python -m apiserver` on a free loopback port, as a user would start it: HTTPS, authentication and
    Node,RBAC authorization on (see the module docstring for how tests reach it)."""

    def __init__(self, etcd_url: str | None = None, extra_args: list[str] | None = None) -> None:
        self.etcd_url = etcd_url
        self.port = free_port()
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="kubelite-apiserver-", suffix=".log")[1])
        self.pki = test_pki()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return self.pki.ca_file

    @property
    def admin_kubeconfig(self) -> Path:
        return self.pki.kubeconfig(self.url)

    def kubeconfig_for(self, user: str, groups: tuple[str, ...] = ()) -> Path:
        return self.pki.kubeconfig(self.url, user, groups)

    def component_args(self, user: str, groups: tuple[str, ...] = ()) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig_for(user, groups))]

    def ssl_context(self, user: str = ADMIN[0], groups: tuple[str, ...] = ADMIN[1]) -> ssl.SSLContext:
        return self.pki.ssl_context(user, groups)

    def client(
        self, *, user: str = ADMIN[0], groups: tuple[str, ...] | None = None, **kwargs: object
    ) -> httpx.Client:
        """An httpx.Client on the apiserver as `user` (default: the admin, in system:masters; another user is in
        `groups` only); kwargs go to httpx.Client."""
        kwargs.setdefault("timeout", 10)
        ctx = self.ssl_context(user, _groups(user, groups))
        return httpx.Client(base_url=self.url, verify=ctx, **kwargs)  # type: ignore[arg-type]

    def async_client(
        self, *, user: str = ADMIN[0], groups: tuple[str, ...] | None = None, **kwargs: object
    ) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 10)
        ctx = self.ssl_context(user, _groups(user, groups))
        return httpx.AsyncClient(base_url=self.url, verify=ctx, **kwargs)  # type: ignore[arg-type]

    def config(self, user: str = ADMIN[0], groups: tuple[str, ...] | None = None) -> ClientConfig:
        """A ClientConfig for apimachinery.client.Client as `user` (default: the admin)."""
        cert, key = self.pki.credentials(user, _groups(user, groups))
        return ClientConfig(server=self.url, ca_file=self.ca_file, cert_file=str(cert), key_file=str(key))

    def start(self, wait_ready: bool = True) -> None:
        args = [sys.executable, "-m", "apiserver", "--bind-address", "127.0.0.1", "--port", str(self.port)]
        if self.etcd_url:
            args += ["--etcd-servers", self.etcd_url]
        args += self.pki.apiserver_args()
        args += self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=log, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        log.close()
        if wait_ready:
            wait_until(self.ready, 30, what="apiserver ready")

    def ready(self) -> bool:
        return httpx.get(self.url + "/readyz", timeout=1, verify=self.ca_file).status_code == 200

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def forbidden_lines(log: str) -> list[str]:
    """The lines of a component's log that record a 403 from the apiserver (kube-apiserver's words: `... is
    forbidden: User "..." cannot ...`). A component runs as its own identity with its bootstrap role; a request
    that role does not allow is a controller that silently stops working, so tests assert there are none."""
    return [line for line in log.splitlines() if "forbidden: User" in line]


def start_component(args: list[str], log_name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `python -m <component> ...` with its log in a temp file; the caller stops it."""
    log_path = Path(tempfile.mkstemp(prefix=f"kubelite-{log_name}-", suffix=".log")[1])
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=log,
        stderr=log,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    return proc, log_path


def discard_log(path: Path) -> None:
    """Remove a component's log, or with KUBELITE_KEEP_LOGS keep it and say where it is."""
    if os.environ.get("KUBELITE_KEEP_LOGS"):
        print(f"kept log: {path}")
    else:
        path.unlink(missing_ok=True)


def stop_process(
    proc: subprocess.Popen[bytes] | None, timeout: float = 10, sig: int = signal.SIGTERM
) -> None:
    """Send `sig` to a running process and wait `timeout` for it; kill it if it does not exit."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def running_apiserver(etcd_url: str | None, extra_args: list[str] | None = None) -> Iterator[ApiServer]:
    """An apiserver on `etcd_url` with `extra_args`, ready; stopped and its log removed afterwards."""
    server = ApiServer(etcd_url, extra_args)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


@contextmanager
def running_etcd() -> Iterator[Etcd]:
    """A fresh etcd (the test is skipped where none is installed); destroyed with its data afterwards."""
    need_etcd()
    etcd = Etcd()
    etcd.start()
    try:
        yield etcd
    finally:
        etcd.destroy()


@contextmanager
def own_apiserver(extra_args: list[str] | None = None) -> Iterator[ApiServer]:
    """A fresh etcd and an apiserver on it, for tests whose state must not be shared; both go away after."""
    with running_etcd() as etcd, running_apiserver(etcd.url, extra_args) as server:
        yield server

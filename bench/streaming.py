"""Streaming into a pod: `kubectl cp` of a 50 MB file both ways against `docker cp` of the same file, and 50 MB
through `kubectl port-forward` against the same download straight from the pod's address, in the same run.

    flock /tmp/kubelite-host.lock .venv/bin/python -m bench.streaming [--mb 50] [--rounds 3]

Needs root and Docker (it starts a real kubelet with CNI: run it under the host lock). Starts etcd, the apiserver
(bench/common.py) and one kubelet, and one busybox pod serving a file of --mb random megabytes with httpd on
port 8080. Each round, in alternating order:
* cp download: `kubectl cp pod:/www/data ./x` (exec `tar cf -` in the pod, WebSocket v5 through the apiserver and
  the kubelet) against `docker cp <container>:/www/data ./x`;
* cp upload: `kubectl cp ./x pod:/tmp/up` (exec `tar xf -`, stdin) against `docker cp ./x <container>:/tmp/up`;
* port-forward: GET /data through `kubectl port-forward` (SPDY in WebSocket, through the apiserver and the
  kubelet, into the pod's network namespace) against GET http://<pod IP>:8080/data from this machine.
Every copy is checked (size and sha256). Writes bench/results/streaming.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ControlPlane, alternate, control_plane, kubelet, summarize, token_controllers
from bench.options import bench_options
from bench.record import RESULTS, Recording, ratio, target
from tests.binaries import KUBECTL
from tests.cluster import guard_route_restored, running_nodes
from tests.harness import free_pod_cidrs
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.polling import wait_until

SERVE = "mkdir -p /www && dd if=/dev/urandom of=/www/data bs=1048576 count={mb} 2>/dev/null && exec httpd -f -p 8080 -h /www"
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def timed(fn: Callable[[], None]) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}...: {done.stderr.decode(errors='replace')[-500:]}")


def download(url: str, dest: Path) -> None:
    with httpx.Client(trust_env=False, timeout=120) as http, http.stream("GET", url) as resp:
        resp.raise_for_status()
        with dest.open("wb") as f:
            for chunk in resp.iter_raw(1 << 20):
                f.write(chunk)


class Pod:
    """The serving pod, and what both sides of each comparison need to reach it."""

    def __init__(self, cp: ControlPlane, node: str, mb: int) -> None:
        self.cp, self.ns, self.name = cp, f"bench-{uuid.uuid4().hex[:6]}", "data"
        self.kubectl = [KUBECTL or "kubectl", "--kubeconfig", cp.kubeconfig, "--cache-dir",
                        tempfile.mkdtemp(prefix="kubelite-bench-kubectl-")]  # fmt: skip
        with cp.http_sync() as api:
            api.post("/api/v1/namespaces", json={"metadata": {"name": self.ns}}).raise_for_status()
            wait_until(lambda: api.get(f"/api/v1/namespaces/{self.ns}/serviceaccounts/default").status_code
                       == 200, 30, what="default ServiceAccount")  # fmt: skip
            pod = {"metadata": {"name": self.name}, "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                   "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", SERVE.format(mb=mb)],
                                   "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}  # fmt: skip
            api.post(f"/api/v1/namespaces/{self.ns}/pods", json=pod).raise_for_status()

            def ready() -> dict[str, object] | None:
                got = api.get(f"/api/v1/namespaces/{self.ns}/pods/{self.name}").json()
                statuses = got.get("status", {}).get("containerStatuses") or []
                return got if statuses and statuses[0].get("ready") else None

            found = wait_until(ready, 120, 0.2, what="the data pod Ready")
        status = found["status"]  # type: ignore[index]
        self.ip = status["podIP"]
        self.container = status["containerStatuses"][0]["containerID"].removeprefix("docker://")

    def port_forward(self) -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen([*self.kubectl, "-n", self.ns, "port-forward", f"pod/{self.name}", ":8080"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None
        found = FORWARDING.search(proc.stdout.readline())
        if not found:
            proc.kill()
            raise RuntimeError(f"kubectl port-forward: {proc.stderr.read() if proc.stderr else ''}")
        return proc, int(found.group(1))


def measure(pod: Pod, args: argparse.Namespace, tmp: Path) -> dict[str, list[float]]:
    expected_size = args.mb * 1024 * 1024
    reference = tmp / "reference"
    run(["docker", "cp", f"{pod.container}:/www/data", str(reference)])
    digest = sha256(reference)
    assert reference.stat().st_size == expected_size
    samples: dict[str, list[float]] = {k: [] for k in ("kubectl_cp_down", "docker_cp_down", "kubectl_cp_up",
                                                        "docker_cp_up", "port_forward", "direct")}  # fmt: skip
    forwarder, local_port = pod.port_forward()
    target_path = f"{pod.ns}/{pod.name}"

    def checked(path: Path) -> None:
        assert path.stat().st_size == expected_size and sha256(path) == digest, f"{path} differs"
        path.unlink()

    def side(name: str) -> float:
        out = tmp / name
        if name == "kubectl_cp_down":
            took = timed(lambda: run([*pod.kubectl, "cp", f"{target_path}:/www/data", str(out)]))
        elif name == "docker_cp_down":
            took = timed(lambda: run(["docker", "cp", f"{pod.container}:/www/data", str(out)]))
        elif name == "kubectl_cp_up":
            took = timed(lambda: run([*pod.kubectl, "cp", str(reference), f"{target_path}:/tmp/up"]))
            run(["docker", "cp", f"{pod.container}:/tmp/up", str(out)])
        elif name == "docker_cp_up":
            took = timed(lambda: run(["docker", "cp", str(reference), f"{pod.container}:/tmp/up"]))
            run(["docker", "cp", f"{pod.container}:/tmp/up", str(out)])
        elif name == "port_forward":
            took = timed(lambda: download(f"http://127.0.0.1:{local_port}/data", out))
        else:
            took = timed(lambda: download(f"http://{pod.ip}:8080/data", out))
        checked(out)
        return took

    try:
        for pair in (("kubectl_cp_down", "docker_cp_down"), ("kubectl_cp_up", "docker_cp_up"),
                     ("port_forward", "direct")):  # fmt: skip
            side(pair[0]), side(pair[1])  # warm-up
            for _, order in alternate(*pair, args.rounds):
                for name in order:
                    samples[name].append(side(name))
    finally:
        forwarder.kill()
        forwarder.wait(5)
    return samples


def record(rec: Recording, samples: dict[str, list[float]], args: argparse.Namespace) -> None:
    med = {k: statistics.median(v) for k, v in samples.items()}
    figures = {f"{k}_s": med[k] for k in ("kubectl_cp_down", "kubectl_cp_up", "port_forward")}
    baseline = {f"{k}_s": med[k] for k in ("docker_cp_down", "docker_cp_up", "direct")}
    figures.update(
        {f"{k}_mb_per_s": args.mb / med[k] for k in ("kubectl_cp_down", "kubectl_cp_up", "port_forward")}
    )
    baseline.update({f"{k}_mb_per_s": args.mb / med[k] for k in ("docker_cp_down", "docker_cp_up", "direct")})
    ratios = {
        "cp_down": ratio("kubectl_cp_down_s", "docker_cp_down_s", figures, baseline, shown="x"),
        "cp_up": ratio("kubectl_cp_up_s", "docker_cp_up_s", figures, baseline, shown="x"),
        "port_forward": ratio("port_forward_s", "direct_s", figures, baseline, shown="x"),
    }
    targets = [target(f"{what} within 3x of {base}", key, "<=", 3.0, ratios[key]["value"])
               for key, what, base in (("cp_down", "kubectl cp (from the pod)", "docker cp"),
                                       ("cp_up", "kubectl cp (to the pod)", "docker cp"),
                                       ("port_forward", "port-forward", "a direct connection"))]  # fmt: skip
    rec.write(
        figures=figures,
        baseline=baseline,
        ratios=ratios,
        targets=targets,
        samples={f"{k}_s (per run)": summarize(v, "s") for k, v in samples.items()},
        notes=[
            f"{args.mb} MiB of random bytes, checked by sha256 after every copy; medians of {args.rounds} runs "
            "each, alternating which side goes first, after one warm-up of each.",
            "kubectl 1.32 against kubelite's apiserver and one kubelet on this machine: cp is exec of tar over "
            "WebSocket (v5.channel.k8s.io), port-forward is SPDY/3.1 tunnelled in WebSocket; both cross the "
            "apiserver and the kubelet, two TLS hops. docker cp and the direct GET cross neither.",
        ],
    )


def main() -> None:
    args = bench_options(__doc__, mb=50, rounds=3)
    if KUBECTL is None:
        sys.exit("kubectl is missing: scripts/install puts it into .venv/bin")
    rec = Recording("streaming", vars(args))
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-"))
    try:
        with guard_route_restored(), control_plane() as cp, token_controllers(cp):
            node = f"bench{uuid.uuid4().hex[:5]}"
            proc = kubelet(cp, node, free_pod_cidrs(1, range(100, 250))[0], tmp / "kubelet")
            with running_nodes([proc]):
                samples = measure(Pod(cp, node, args.mb), args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record(rec, samples, args)
    from bench.report import streaming

    print("\n".join(streaming(RESULTS)))


if __name__ == "__main__":
    main()

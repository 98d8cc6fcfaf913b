"""The compose `monitoring` profile: Debian's Prometheus scrapes every control-plane component and both nodes'
kubelets (their /metrics, and /metrics/cadvisor through the apiserver's node proxy), kube-proxies and kube-netpols,
with targets discovered from the API and a ServiceAccount token (deploy/scripts/prometheus_sd.py). Asked through
Prometheus's own HTTP API on the host's loopback. The scheduler, controller-manager, kube-proxies and kube-netpols
are scraped on their secure ports (HTTPS, the token checked with the apiserver); nothing plain is on the network.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose.helpers import Compose, nodes_ready
from tests.harness import free_port, wait_until

pytestmark = [pytest.mark.compose, pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]

PROFILE = ("monitoring",)
# The jobs scraped over HTTPS (kube-dns alone is still plain, as CoreDNS's :9153).
HTTPS_JOBS = frozenset(("apiserver", "kubelet", "kubelet-cadvisor", "kube-proxy", "kube-netpol", "kube-scheduler",
                        "kube-controller-manager"))  # fmt: skip
# job -> how many targets: one per node for the node jobs, one per component otherwise.
EXPECTED = {
    "apiserver": 1,
    "kubelet": 2,
    "kubelet-cadvisor": 2,
    "kube-proxy": 2,
    "kube-netpol": 2,
    "kube-scheduler": 1,
    "kube-controller-manager": 1,
    "kube-dns": 1,
}
NS = "prom"
# A little CPU each second (a few percent of a core), so the container's CPU counter moves.
WORK = "while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 1; done"


@pytest.fixture(scope="module")
def monitored(compose_images: None) -> Iterator[tuple[Compose, int]]:
    out = Path(tempfile.mkdtemp(prefix="kubelite-prom-"))
    compose = Compose(f"klprom{uuid.uuid4().hex[:8]}", out)
    port = free_port()
    compose.env.update({"PROMETHEUS_PORT": str(port)})
    try:
        compose.run("build", "prometheus", profiles=PROFILE, timeout=600)
        compose.run("up", "-d", profiles=PROFILE, timeout=600)
        wait_until(lambda: nodes_ready(compose, 2), timeout=180, interval=1, what="2 Ready nodes")
        yield compose, port
    finally:
        compose.run("down", "-v", "--remove-orphans", "-t", "5", check=False, profiles=PROFILE, timeout=180)
        shutil.rmtree(out, ignore_errors=True)


def api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def targets_up(port: int) -> dict[str, list[str]] | None:
    """job -> health of each active target, once every expected job has all its targets up; else None."""
    by_job: dict[str, list[str]] = {}
    for t in api(port, "targets", state="active")["activeTargets"]:
        by_job.setdefault(t["labels"]["job"], []).append(t["health"])
    complete = all(by_job.get(job, []) == ["up"] * n for job, n in EXPECTED.items())
    return by_job if complete else None


def test_every_component_and_kubelet_is_up_and_cadvisor_has_the_pods(monitored: tuple[Compose, int]) -> None:
    compose, port = monitored
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "busy", "namespace": NS},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": "kubelite/busybox:1",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", WORK],
                }
            ],
        },
    }
    compose.kctl("create", "namespace", NS)
    compose.kctl("apply", "-f", "-", stdin=yaml.safe_dump(pod))
    wait_until(
        lambda: compose.kctl_json("get", "pod", "busy", "-n", NS)["status"].get("phase") == "Running",
        timeout=120,
        interval=1,
        what="the pod running",
    )

    start = time.monotonic()
    try:
        wait_until(lambda: targets_up(port), timeout=120, interval=2, what="every target up")
    except TimeoutError:
        targets = api(port, "targets", state="active")["activeTargets"]
        seen = [(t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"]) for t in targets]
        raise AssertionError(f"not every target is up: {seen}") from None
    print(f"every target up {time.monotonic() - start:.1f}s after the pod ran")
    for t in sorted(api(port, "targets", state="active")["activeTargets"], key=lambda t: t["scrapeUrl"]):
        print(f"{t['labels']['job']:<24} {t['labels']['instance']:<22} {t['health']:<4} {t['scrapeUrl']}")
    for t in api(port, "targets", state="active")["activeTargets"]:
        if t["labels"]["job"] in HTTPS_JOBS:
            assert t["scrapeUrl"].startswith("https://"), t["scrapeUrl"]

    # The running pod's container CPU, scraped from a kubelet's /metrics/cadvisor through the node proxy.
    query = f'container_cpu_usage_seconds_total{{namespace="{NS}",pod="busy",container="c"}}'
    series = wait_until(lambda: api(port, "query", query=query)["result"], timeout=60, interval=2, what=query)
    assert series[0]["metric"]["job"] == "kubelet-cadvisor"
    assert series[0]["metric"]["instance"] == series[0]["metric"]["node"]
    assert float(series[0]["value"][1]) > 0
    print(query, "->", series[0]["metric"], series[0]["value"])

    # Kubernetes' metric names, one per component family.
    for name, job in (
        ("apiserver_request_total", "apiserver"),
        ("apiserver_request_duration_seconds_bucket", "apiserver"),
        ("workqueue_adds_total", "kube-controller-manager"),
        ("rest_client_requests_total", "kube-scheduler"),
        ("scheduler_schedule_attempts_total", "kube-scheduler"),
        ("kubelet_running_pods", "kubelet"),
    ):
        assert api(port, "query", query=f'count({name}{{job="{job}"}})')["result"], f"no {name} from {job}"


def probe_from_node(compose: Compose, url: str) -> tuple[int, str]:
    """GET `url` from inside node-1 (on the compose network), its CA trusted: (exit code, error text)."""
    done = compose.node_exec("node-1", "python3", "/opt/kubelite/deploy/probe.py", url)
    return done.returncode, done.stderr


def test_metrics_on_the_network_need_a_token(monitored: tuple[Compose, int]) -> None:
    """From another container: the secure ports answer /healthz to anyone and /metrics to no one anonymous (401);
    the plain ports are on the components' loopback only (nothing answers on the network)."""
    compose, _ = monitored
    for host, secure, plain in (("scheduler-1", 10259, 10251), ("controller-manager-1", 10257, 10252),
                                ("node-2", 10263, 10249), ("node-2", 10266, 10265)):  # fmt: skip
        assert probe_from_node(compose, f"https://{host}:{secure}/healthz") == (0, "")
        code, err = probe_from_node(compose, f"https://{host}:{secure}/metrics")
        assert code == 1 and "401" in err, err
        code, err = probe_from_node(compose, f"http://{host}:{plain}/healthz")
        assert code == 1 and "refused" in err.lower(), err

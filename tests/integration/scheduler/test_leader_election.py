"""Two kube-schedulers with --leader-elect: one schedules; when it is killed the other takes over in time."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.components import Component, start_scheduler
from tests.integration.scheduler.helpers import Api, make_pod
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.slow]

LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"
LEASE_DURATION = 3.0
FLAGS = (
    "--leader-elect",
    "--leader-elect-lease-duration", f"{LEASE_DURATION}s",
    "--leader-elect-renew-deadline", "2s",
    "--leader-elect-retry-period", "0.5s",
)  # fmt: skip


def holder(api: Api) -> str | None:
    lease = api.get(LEASE)
    return (lease or {}).get("spec", {}).get("holderIdentity") or None


def leader_gauge(comp: Component) -> float:
    text = httpx.get(f"http://127.0.0.1:{comp.port}/metrics").text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith("scheduler_leader ")))


def test_standby_takes_over_when_leader_is_killed(api: Api, hollow, ns: str, cluster) -> None:
    hollow(2, "ha-")
    first = start_scheduler(cluster, *FLAGS, "--identity", "sched-a")
    second: Component | None = None
    try:
        wait_until(lambda: holder(api) == "sched-a", 10, what="sched-a leads")
        second = start_scheduler(cluster, *FLAGS, "--identity", "sched-b")
        api.create_pod(ns, make_pod("before"))
        api.wait_bound(ns, "before")
        assert leader_gauge(first) == 1 and leader_gauge(second) == 0
        assert holder(api) == "sched-a"

        first.kill()  # SIGKILL: no chance to release the lease
        killed = time.monotonic()
        for i in range(3):
            api.create_pod(ns, make_pod(f"after-{i}"))
        for i in range(3):
            api.wait_bound(ns, f"after-{i}", timeout=LEASE_DURATION + 5)
        assert time.monotonic() - killed < LEASE_DURATION + 3
        assert holder(api) == "sched-b"
        assert leader_gauge(second) == 1
    finally:
        first.cleanup()
        if second is not None:
            second.cleanup()

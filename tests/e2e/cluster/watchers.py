"""Observers of a running cluster: `ReadyWatch` counts a Deployment's ready pods from a raw watch (for the
availability bound during rollouts); `measure_failover` SIGKILLs a kubelet and times what follows."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.cluster.cluster import LocalCluster, Obj, is_ready
from tests.e2e.kubelet.helpers import KubeletProc
from tests.harness import admin_tls


class ReadyWatch:
    """Counts, from a raw watch on the Deployment's pods, those that are Ready and not being deleted.

    `arm()` starts recording the minimum (and the count after every event, for the failure message); the watch
    runs in a thread, resuming from the last resourceVersion when the server ends it, relisting on 410.
    """

    def __init__(self, url: str, ns: str, name: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=None), verify=admin_tls())
        self.path = f"/api/v1/namespaces/{ns}/pods"
        self.selector = f"app={name}"
        self.ready: dict[str, bool] = {}
        self.lock = threading.Lock()
        self.armed = False
        self.min_ready: int | None = None
        self.timeline: list[tuple[float, int]] = []
        self.events = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        if not self._synced.wait(10):
            raise TimeoutError(f"pod watch did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.http.close()

    def count(self) -> int:
        with self.lock:
            return sum(self.ready.values())

    def arm(self) -> None:
        with self.lock:
            self.armed = True
            self.min_ready = sum(self.ready.values())
            self.timeline = [(time.monotonic(), self.min_ready)]

    def disarm(self) -> int | None:
        with self.lock:
            self.armed = False
            return self.min_ready

    def _list(self) -> str:
        r = self.http.get(self.path, params={"labelSelector": self.selector})
        r.raise_for_status()
        body = r.json()
        with self.lock:
            self.ready = {
                p["metadata"]["uid"]: is_ready(p)
                for p in body["items"]
                if not p["metadata"].get("deletionTimestamp")
            }
            self._record()
        return str(body["metadata"]["resourceVersion"])

    def _record(self) -> None:
        if self.armed:
            n = sum(self.ready.values())
            self.timeline.append((time.monotonic(), n))
            self.min_ready = n if self.min_ready is None else min(self.min_ready, n)

    def _run(self) -> None:
        rv: str | None = None
        while not self._stop.is_set():
            try:
                if rv is None:
                    rv = self._list()
                    self._synced.set()
                params = {"watch": "1", "labelSelector": self.selector, "resourceVersion": rv,
                          "timeoutSeconds": "2", "allowWatchBookmarks": "true"}  # fmt: skip
                with self.http.stream("GET", self.path, params=params) as resp:
                    resp.raise_for_status()
                    for line in resp.iter_lines():
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        obj = event["object"]
                        if event["type"] == "ERROR":
                            rv = None if obj.get("code") == 410 else rv
                            break
                        rv = obj["metadata"].get("resourceVersion", rv)
                        if event["type"] != "BOOKMARK":
                            self._see(event["type"], obj)
                        if self._stop.is_set():
                            return
            except Exception as exc:  # the stream broke: resume (or relist) after a short pause
                self.error = exc
                time.sleep(0.2)

    def _see(self, etype: str, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        with self.lock:
            self.events += 1
            if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
                self.ready.pop(uid, None)
            else:
                self.ready[uid] = is_ready(pod)
            self._record()


@dataclass
class Failover:
    """Seconds from the SIGKILL of a kubelet to each milestone."""

    pods_on_killed_node: int
    not_ready_s: float
    pods_marked_not_ready_s: float | None
    first_eviction_s: float
    all_evicted_s: float
    full_strength_s: float
    taints: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pods_on_killed_node": self.pods_on_killed_node,
            "killed_to_not_ready_s": round(self.not_ready_s, 3),
            "killed_to_pods_not_ready_s": None
            if self.pods_marked_not_ready_s is None
            else round(self.pods_marked_not_ready_s, 3),
            "killed_to_first_eviction_s": round(self.first_eviction_s, 3),
            "killed_to_all_evicted_s": round(self.all_evicted_s, 3),
            "killed_to_full_strength_s": round(self.full_strength_s, 3),
            "taints": self.taints,
        }


def kill_kubelet(k: KubeletProc) -> None:
    """SIGKILL: no clean-up, no status update; its containers keep running on Docker."""
    assert k.proc is not None
    k.proc.kill()
    k.proc.wait(5)


def measure_failover(
    cluster: LocalCluster, ns: str, name: str, victim: KubeletProc, timeout: float = 90
) -> Failover:
    """Kill `victim`; poll (every 0.1 s) until the Deployment is back at full strength on the other nodes."""
    replicas = cluster.deployment(ns, name)["spec"]["replicas"]
    victims = {
        p["metadata"]["uid"]
        for p in cluster.pods(ns, name)
        if p["spec"].get("nodeName") == victim.name and not p["metadata"].get("deletionTimestamp")
    }
    assert victims, f"no pods on {victim.name} to evict"
    t0 = time.monotonic()
    kill_kubelet(victim)
    not_ready = pods_not_ready = first_eviction = all_evicted = None
    taints: list[str] = []
    while True:
        elapsed = time.monotonic() - t0
        if not_ready is None and cluster.node_ready(victim.name) == "Unknown":
            not_ready = elapsed
        if not taints:
            taints = sorted(
                f"{t['key']}:{t['effect']}" for t in cluster.node(victim.name)["spec"].get("taints") or []
            )
        pods = cluster.pods(ns, name)
        by_uid = {p["metadata"]["uid"]: p for p in pods}
        mine = [by_uid[u] for u in victims if u in by_uid]
        if pods_not_ready is None and any(
            not is_ready(p) and not p["metadata"].get("deletionTimestamp") for p in mine
        ):
            pods_not_ready = elapsed
        evicted = [u for u in victims if u not in by_uid or by_uid[u]["metadata"].get("deletionTimestamp")]
        if first_eviction is None and evicted:
            first_eviction = elapsed
        if all_evicted is None and len(evicted) == len(victims):
            all_evicted = elapsed
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp") and is_ready(p)]
        status = cluster.deployment(ns, name).get("status") or {}
        if (
            all_evicted is not None
            and not_ready is not None
            and status.get("availableReplicas") == replicas
            and len(live) == replicas
            and not any(p["spec"].get("nodeName") == victim.name for p in live)
        ):
            assert first_eviction is not None
            return Failover(
                len(victims), not_ready, pods_not_ready, first_eviction, all_evicted, elapsed, taints
            )
        if elapsed > timeout:
            raise AssertionError(
                f"not back to {replicas} available within {timeout}s: not_ready={not_ready} "
                f"first_eviction={first_eviction} all_evicted={all_evicted} status={json.dumps(status)} "
                f"live={[(p['metadata']['name'], p['spec'].get('nodeName')) for p in live]}\n{cluster.logs()}"
            )
        time.sleep(0.1)

"""Reporting a pod (kubelet/pod_sync.py): the views of its containers as Docker and the probes show them,
whether it has finished, the status patch (only when it changed, with the pod's uid as a precondition) and the
start-latency metric."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.timefmt import parse_time_or_none
from apimachinery.writerpool import WriterPool
from kubelet.api import PODS
from kubelet.metrics import KubeletMetrics
from kubelet.probes import ProbeManager
from kubelet.runtime.docker import ContainerInfo
from kubelet.status import ContainerView, now_rfc3339, pod_status, status_changed

log = logging.getLogger("kubelet.sync")


def _epoch(ts: str | None) -> float:
    """Seconds since the epoch of an RFC 3339 UTC timestamp ("2026-01-01T00:00:00Z"); 0 for none."""
    parsed = parse_time_or_none(ts, naive_utc=True)
    return parsed.timestamp() if parsed else 0.0


class PodStatusWriter:
    """The status steps of `PodSyncer`, which holds these parts."""

    client: Client
    writers: WriterPool  # the clients status patches go through
    probes: ProbeManager
    metrics: KubeletMetrics
    host_ip: Callable[[], str]
    pod_ips: dict[str, str]
    last_status: dict[str, dict[str, Any]]
    start_observed: set[str]

    def _observe_start(self, pod: dict[str, Any], status: dict[str, Any] | None, running: int) -> None:
        """The pod start latency metric, once per pod: creation to every app container running."""
        uid = pod["metadata"]["uid"]
        if not status or status["phase"] != "Running" or uid in self.start_observed:
            return
        if running == len(pod.get("spec", {}).get("containers") or []):
            self.start_observed.add(uid)
            created = _epoch(pod["metadata"].get("creationTimestamp"))
            if created:
                self.metrics.pod_start_duration.observe(max(0.0, time.time() - created))

    def _views(
        self,
        pod: dict[str, Any],
        by_name: dict[str, list[ContainerInfo]],
        waiting: dict[str, tuple[str, str]],
    ) -> tuple[list[ContainerView], list[ContainerView], bool]:
        policy = pod.get("spec", {}).get("restartPolicy") or "Always"

        def view(c: dict[str, Any]) -> ContainerView:
            instances = by_name.get(c["name"], [])
            cur = instances[0] if instances else None
            prev = instances[1] if len(instances) > 1 else None
            reason, message = waiting.get(c["name"], (None, ""))
            ready = started = False
            if cur is not None and cur.running:
                started = self.probes.started(cur.id, c)
                ready = self.probes.ready(cur.id, c)
            return ContainerView(c, cur, prev, reason, message, ready, started)

        init_views = [view(c) for c in pod.get("spec", {}).get("initContainers") or []]
        app_views = [view(c) for c in pod.get("spec", {}).get("containers") or []]
        init_failed = policy == "Never" and any(
            v.current is not None and v.current.exited and v.current.exit_code != 0 for v in init_views
        )
        return init_views, app_views, init_failed

    @staticmethod
    def _terminal(
        pod: dict[str, Any],
        policy: str,
        init_views: list[ContainerView],
        app_views: list[ContainerView],
        init_failed: bool,
    ) -> bool:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or init_failed:
            return True
        if policy == "Always" or not app_views:
            return False
        for v in app_views:
            cur = v.current
            if cur is None or not cur.exited:
                return False
            if policy == "OnFailure" and cur.exit_code != 0:
                return False
        return True

    async def _write_status(
        self,
        pod: dict[str, Any],
        init_views: list[ContainerView],
        app_views: list[ContainerView],
        init_failed: bool,
        override: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        uid = pod["metadata"]["uid"]
        old = pod.get("status") or {}
        # Our last write may not have come back through the informer yet: base transition times on it.
        base = {**pod, "status": self.last_status.get(uid) or old}
        start_time = (
            old.get("startTime") or (self.last_status.get(uid) or {}).get("startTime") or now_rfc3339()
        )
        status = pod_status(
            base, init_views, app_views, pod_ip=self.pod_ips.get(uid) or None, host_ip=self.host_ip(),
            start_time=start_time, init_failed=init_failed,
        )  # fmt: skip
        status.update(override or {})
        if not status_changed(old, status) or self.last_status.get(uid) == status:
            return status
        md = pod["metadata"]
        try:
            # The uid is a precondition: a pod recreated under the same name (a StatefulSet member) must not
            # get the status of the one this worker ran.
            body = {"metadata": {"uid": uid}, "status": status}
            async with self.writers.borrow() as writer:
                await writer.patch(PODS, md["name"], body, md.get("namespace"), subresource="status")
        except StatusError as exc:
            if is_not_found(exc) or is_conflict(exc):  # gone, or the uid precondition names another pod
                return None
            raise
        except ClientConnectionError as exc:
            log.warning("status of %s not written: %s", md["name"], exc)
            return status
        self.last_status[uid] = status
        return status

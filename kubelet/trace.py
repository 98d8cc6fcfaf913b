"""Timestamps of a pod's start-up steps, for finding where its time goes (bench/pod_startup.py --trace).

`mark(pod, step)` logs one DEBUG line on the `kubelet.trace` logger with the pod, the step and the monotonic
clock (shared by every process of the machine, so a benchmark can set it beside its own). Off at INFO: one level
check per step."""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("kubelet.trace")


def mark(pod: dict[str, Any], step: str) -> None:
    if log.isEnabledFor(logging.DEBUG):
        md = pod.get("metadata") or {}
        log.debug(
            "pod step",
            extra={"pod": f"{md.get('namespace')}/{md.get('name')}", "step": step, "mono": time.monotonic()},
        )

"""The kubelet's events, held while new pods start: writing an Event costs the kubelet and the apiserver about as
much CPU as a pod's status write, and on a busy node that CPU is taken from starting the pods (Docker, CNI). Events
recorded while a pod with no container yet is being started wait until no such pod is left, or HOLD_MAX seconds,
or MAX_HELD events; they keep the time at which they were recorded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from apimachinery.events import EventRecorder
from apimachinery.timefmt import now_rfc3339

HOLD_MAX = 5.0
MAX_HELD = 200


class HeldEvents:
    def __init__(self, recorder: EventRecorder, hold_max: float = HOLD_MAX) -> None:
        self.recorder = recorder
        self.hold_max = hold_max
        self.starting = 0
        self._held: list[tuple[dict[str, Any], str, str, str, str]] = []
        self._timer: asyncio.TimerHandle | None = None

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        if not self.starting:
            self.recorder.event(obj, type_, reason, message)
            return
        self._held.append((obj, type_, reason, message, now_rfc3339()))
        if len(self._held) >= MAX_HELD:
            self.release()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.hold_max, self.release)

    @contextlib.contextmanager
    def pod_starting(self) -> Iterator[None]:
        """Around the sync of a pod that has no container yet: events wait while it runs."""
        self.starting += 1
        try:
            yield
        finally:
            self.starting -= 1
            if not self.starting:
                self.release()

    def release(self) -> None:
        """Hand every held event to the recorder."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, []
        for obj, type_, reason, message, at in held:
            self.recorder.event(obj, type_, reason, message, at=at)

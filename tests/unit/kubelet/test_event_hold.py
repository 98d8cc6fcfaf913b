"""Events held while new pods start (kubelet/event_hold.py): handed to the recorder, with the time they were
recorded, once no pod is starting, after HOLD_MAX, or at MAX_HELD; straight through when no pod starts."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelet import event_hold
from kubelet.event_hold import HeldEvents


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[str, str | None]] = []

    def event(
        self, obj: dict[str, Any], type: str, reason: str, message: str, *, at: str | None = None
    ) -> None:
        self.got.append((reason, at))


POD = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "ns", "uid": "u"}}


def test_events_pass_straight_through_when_no_pod_starts() -> None:
    async def run() -> list[tuple[str, str | None]]:
        recorder = Recorder()
        HeldEvents(recorder).event(POD, "Normal", "Killing", "m")  # type: ignore[arg-type]
        return recorder.got

    assert asyncio.run(run()) == [("Killing", None)]


def test_events_wait_until_the_last_starting_pod_is_done_and_keep_their_time() -> None:
    async def run() -> None:
        recorder = Recorder()
        held = HeldEvents(recorder)  # type: ignore[arg-type]
        with held.pod_starting():
            with held.pod_starting():
                held.event(POD, "Normal", "Created", "m")
            assert recorder.got == []  # one pod still starts
            held.event(POD, "Normal", "Started", "m")
            assert recorder.got == []
        assert [reason for reason, _ in recorder.got] == ["Created", "Started"]
        assert all(at and at.endswith("Z") for _, at in recorder.got)

    asyncio.run(run())


def test_held_events_go_after_hold_max_even_while_pods_start() -> None:
    async def run() -> None:
        recorder = Recorder()
        held = HeldEvents(recorder, hold_max=0.05)  # type: ignore[arg-type]
        with held.pod_starting():
            held.event(POD, "Normal", "Created", "m")
            deadline = asyncio.get_running_loop().time() + 5
            while not recorder.got and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            assert [reason for reason, _ in recorder.got] == ["Created"]

    asyncio.run(run())


def test_no_more_than_max_held_wait(monkeypatch: Any) -> None:
    monkeypatch.setattr(event_hold, "MAX_HELD", 3)

    async def run() -> None:
        recorder = Recorder()
        held = HeldEvents(recorder)  # type: ignore[arg-type]
        with held.pod_starting():
            for i in range(3):
                held.event(POD, "Normal", f"R{i}", "m")
            assert len(recorder.got) == 3

    asyncio.run(run())

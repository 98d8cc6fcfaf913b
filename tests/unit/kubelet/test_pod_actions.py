"""compute_pod_actions: a pod's spec and the containers Docker shows -> what one sync does (kubelet.pod_actions)."""

from __future__ import annotations

from typing import Any

from kubelet.pod_actions import PodActions, compute_pod_actions
from kubelet.runtime.docker import (
    LABEL_CONTAINER_NAME,
    LABEL_RESTART_COUNT,
    LABEL_TYPE,
    TYPE_CONTAINER,
    TYPE_SANDBOX,
    ContainerInfo,
)

NOW = 1_000_000.0


def info(
    name: str, status: str = "running", *, exit_code: int = 0, restarts: int = 0, sandbox: bool = False
) -> ContainerInfo:
    labels = {LABEL_TYPE: TYPE_SANDBOX if sandbox else TYPE_CONTAINER, LABEL_RESTART_COUNT: str(restarts)}
    if not sandbox:
        labels[LABEL_CONTAINER_NAME] = name
    return ContainerInfo(
        id=f"{name}-{restarts}", name=name, labels=labels, status=status, exit_code=exit_code,
        started_at=None, finished_at=None, created=f"2026-01-01T00:00:{restarts:02d}Z", image="busybox",
        image_id="sha256:x", pid=1, finished_epoch=NOW - 5,
    )  # fmt: skip


SANDBOX = info("POD", sandbox=True)


def pod(
    policy: str = "Always", init: tuple[str, ...] = (), apps: tuple[str, ...] = ("app",)
) -> dict[str, Any]:
    return {
        "metadata": {"uid": "u1", "name": "p"},
        "spec": {
            "restartPolicy": policy,
            "initContainers": [{"name": n, "image": "busybox"} for n in init],
            "containers": [{"name": n, "image": "busybox"} for n in apps],
        },
    }


def actions(
    p: dict[str, Any],
    infos: list[ContainerInfo],
    *,
    backoff: dict[str, float] | None = None,
    liveness: dict[str, str] | None = None,
) -> PodActions:
    return compute_pod_actions(
        p,
        infos,
        backoff_remaining=lambda name, since: (backoff or {}).get(name, 0.0),
        liveness_failures=liveness or {},
    )


def starts(a: PodActions) -> list[tuple[str, int, bool, bool]]:
    return [(s.spec["name"], s.restart_count, s.init, s.restart) for s in a.start]


def test_a_new_pod_first_gets_its_sandbox_and_nothing_else() -> None:
    a = actions(pod(), [])
    assert a.create_sandbox and a.sandbox_attempt == 0
    assert not a.kill_for_sandbox and not a.changes_containers()


def test_a_dead_sandbox_is_replaced_and_what_ran_in_it_killed() -> None:
    dead = info("POD", "exited", sandbox=True, restarts=2)
    running = info("app")
    a = actions(pod(), [dead, running, info("old", "exited")])
    assert a.create_sandbox and a.sandbox_attempt == 3
    assert a.kill_for_sandbox == [running]
    assert not a.start


def test_with_a_sandbox_the_app_containers_start() -> None:
    a = actions(pod(apps=("a", "b")), [SANDBOX])
    assert not a.create_sandbox
    assert starts(a) == [("a", 0, False, False), ("b", 0, False, False)]


def test_init_containers_run_one_at_a_time_in_order() -> None:
    p = pod(init=("i1", "i2"), apps=("app",))
    assert starts(actions(p, [SANDBOX])) == [("i1", 0, True, False)]
    assert not actions(p, [SANDBOX, info("i1")]).changes_containers()  # i1 runs: wait
    assert starts(actions(p, [SANDBOX, info("i1", "exited")])) == [("i2", 0, True, False)]
    done = [SANDBOX, info("i1", "exited"), info("i2", "exited")]
    assert starts(actions(p, done)) == [("app", 0, False, False)]


def test_a_failed_init_container_restarts_after_its_backoff_and_holds_the_apps() -> None:
    p = pod(init=("i1",))
    failed = [SANDBOX, info("i1", "exited", exit_code=1, restarts=1)]
    waiting = actions(p, failed, backoff={"i1": 7.5})
    assert waiting.back_off == {"i1": 7.5} and not waiting.start
    assert starts(actions(p, failed)) == [("i1", 2, True, True)]
    assert not actions(pod("Never", init=("i1",)), failed).changes_containers()


def test_created_containers_are_started_not_created_again() -> None:
    created = info("app", "created")
    a = actions(pod(), [SANDBOX, created])
    assert a.resume == [created] and not a.start
    init_created = info("i1", "created")
    a = actions(pod(init=("i1",)), [SANDBOX, init_created])
    assert a.resume == [init_created] and not a.start


def test_exited_app_containers_follow_the_restart_policy() -> None:
    ok, failed = info("app", "exited", exit_code=0), info("app", "exited", exit_code=2)
    assert starts(actions(pod("Always"), [SANDBOX, ok])) == [("app", 1, False, True)]
    assert not actions(pod("OnFailure"), [SANDBOX, ok]).start
    assert starts(actions(pod("OnFailure"), [SANDBOX, failed])) == [("app", 1, False, True)]
    assert not actions(pod("Never"), [SANDBOX, failed]).start


def test_a_crash_looping_container_waits_its_backoff() -> None:
    a = actions(pod(), [SANDBOX, info("app", "exited", exit_code=1, restarts=3)], backoff={"app": 40.0})
    assert a.back_off == {"app": 40.0} and not a.start


def test_the_latest_instance_decides() -> None:
    older, latest = info("app", "exited", exit_code=1, restarts=0), info("app", "running", restarts=1)
    assert not actions(pod(), [SANDBOX, older, latest]).changes_containers()


def test_a_failed_liveness_probe_kills_the_container() -> None:
    live = info("app")
    a = actions(pod(apps=("app", "other")), [SANDBOX, live, info("other")], liveness={live.id: "unhealthy"})
    assert a.kill == [(live, "unhealthy")] and not a.start
    # The next computation, once it has exited, restarts it.
    assert starts(actions(pod(), [SANDBOX, info("app", "exited", exit_code=137)])) == [
        ("app", 1, False, True)
    ]


def test_liveness_failures_of_containers_not_running_are_ignored() -> None:
    gone = info("app", "exited", exit_code=0)
    assert not actions(pod("OnFailure"), [SANDBOX, gone], liveness={gone.id: "unhealthy"}).kill

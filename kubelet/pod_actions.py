"""What one sync of a live pod must do, computed from its spec and the containers Docker shows (no I/O here).

As upstream's kuberuntime `computePodActions`: `compute_pod_actions` compares the pod's spec with the observed
sandbox and containers and returns a `PodActions` - re-create the sandbox, kill containers (a failed liveness
probe), start containers that exist but were never started, create and start init or app containers (first runs
and restarts), and the containers that must wait for their crash-loop back-off. `kubelet.pod_sync` carries them out.

Rules, as the kubelet applies them:
* A sandbox that is missing or not running is (re-)created; when one existed, every running container of the pod
  is killed first (its network namespace is gone). Nothing else is decided until the new sandbox runs.
* Init containers run one at a time, in order: the first that has not exited 0 is the only one acted on (started,
  left to run, restarted after its back-off, or left failed under restartPolicy Never). App containers start only
  when every init container has exited 0.
* A running app container whose liveness probe failed is killed; the next computation restarts it.
* An exited app container restarts unless restartPolicy is Never, or OnFailure and it exited 0; a restart waits
  for the back-off still remaining since it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelet.runtime.docker import ContainerInfo

Obj = dict[str, Any]
BackoffFn = Callable[[str, float], float]  # (container name, finished at) -> seconds still to wait


@dataclass(frozen=True)
class Start:
    """Create and start a container of `spec`; `restart` when it replaces one that exited (a back-off step)."""

    spec: Obj
    restart_count: int
    init: bool
    restart: bool


@dataclass
class PodActions:
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    kill_for_sandbox: list[ContainerInfo] = field(default_factory=list)  # running in a sandbox that is gone
    kill: list[tuple[ContainerInfo, str]] = field(default_factory=list)  # (container, why)
    resume: list[ContainerInfo] = field(default_factory=list)  # created, never started
    start: list[Start] = field(default_factory=list)
    back_off: dict[str, float] = field(default_factory=dict)  # container name -> seconds still to wait

    def changes_containers(self) -> bool:
        return bool(self.kill or self.resume or self.start)


def latest_first(infos: list[ContainerInfo]) -> list[ContainerInfo]:
    return sorted(infos, key=lambda i: (i.restart_count, i.created), reverse=True)


def by_name(infos: list[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    """Container name -> its instances (sandboxes left out), the current one first."""
    out: dict[str, list[ContainerInfo]] = {}
    for info in latest_first([i for i in infos if not i.is_sandbox]):
        out.setdefault(info.container_name, []).append(info)
    return out


def restart_policy(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def compute_pod_actions(
    pod: Obj,
    infos: list[ContainerInfo],
    *,
    backoff_remaining: BackoffFn,
    liveness_failures: Mapping[str, str],
) -> PodActions:
    """The actions that bring the pod's containers to its spec. `liveness_failures` maps the ids of containers
    whose liveness probe failed to the reason; `backoff_remaining` gives a container's back-off still to run."""
    sandboxes = latest_first([i for i in infos if i.is_sandbox])
    sandbox = sandboxes[0] if sandboxes else None
    if sandbox is None or not sandbox.running:
        return PodActions(
            create_sandbox=True,
            sandbox_attempt=sandbox.restart_count + 1 if sandbox else 0,
            kill_for_sandbox=[i for i in infos if i.running and not i.is_sandbox] if sandbox else [],
        )
    actions = PodActions()
    current = {name: instances[0] for name, instances in by_name(infos).items()}
    spec = pod.get("spec") or {}
    if _init_containers(
        spec.get("initContainers") or [], current, restart_policy(pod), backoff_remaining, actions
    ):
        for c in spec.get("containers") or []:
            _app_container(c, current.get(c["name"]), restart_policy(pod), backoff_remaining, liveness_failures,
                           actions)  # fmt: skip
    return actions


def _init_containers(
    specs: list[Obj],
    current: dict[str, ContainerInfo],
    policy: str,
    backoff_remaining: BackoffFn,
    actions: PodActions,
) -> bool:
    """Act on the first init container that has not succeeded; True when all have (the app containers' turn)."""
    for c in specs:
        cur = current.get(c["name"])
        if cur is not None and cur.exited and cur.exit_code == 0:
            continue
        if cur is None:
            actions.start.append(Start(c, 0, init=True, restart=False))
        elif cur.status == "created":
            actions.resume.append(cur)
        elif cur.running or policy == "Never":
            pass  # running: wait for it; failed under Never: the pod has failed
        elif (remaining := backoff_remaining(c["name"], cur.finished_epoch)) > 0:
            actions.back_off[c["name"]] = remaining
        else:
            actions.start.append(Start(c, cur.restart_count + 1, init=True, restart=True))
        return False
    return True


def _app_container(
    c: Obj,
    cur: ContainerInfo | None,
    policy: str,
    backoff_remaining: BackoffFn,
    liveness_failures: Mapping[str, str],
    actions: PodActions,
) -> None:
    if cur is None:
        actions.start.append(Start(c, 0, init=False, restart=False))
    elif cur.running:
        if cur.id in liveness_failures:
            actions.kill.append((cur, liveness_failures[cur.id]))
    elif cur.status == "created":
        actions.resume.append(cur)
    elif policy == "Never" or (policy == "OnFailure" and cur.exit_code == 0):
        pass
    elif (remaining := backoff_remaining(c["name"], cur.finished_epoch)) > 0:
        actions.back_off[c["name"]] = remaining
    else:
        actions.start.append(Start(c, cur.restart_count + 1, init=False, restart=True))

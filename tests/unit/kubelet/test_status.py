from kubelet.runtime.docker import LABEL_CONTAINER_NAME, LABEL_RESTART_COUNT, ContainerInfo
from kubelet.status import ContainerView, pod_status, qos_class

NOW = "2026-01-01T00:00:00Z"


def info(name: str, status: str, exit_code: int = 0, restarts: int = 0, oom: bool = False) -> ContainerInfo:
    return ContainerInfo(
        id=f"id-{name}-{restarts}", name=name, labels={LABEL_CONTAINER_NAME: name, LABEL_RESTART_COUNT: str(restarts)},
        status=status, exit_code=exit_code, started_at="2026-01-01T00:00:00Z",
        finished_at=None if status == "running" else "2026-01-01T00:00:05Z", created="2026-01-01T00:00:00Z",
        image="busybox", image_id="sha256:abc", pid=1, oom_killed=oom,
    )  # fmt: skip


def pod(policy: str = "Always", names: tuple[str, ...] = ("a",)) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": {"restartPolicy": policy, "containers": [{"name": n, "image": "busybox"} for n in names]},
    }


def view(name: str, cur: ContainerInfo | None, **kw) -> ContainerView:
    return ContainerView({"name": name, "image": "busybox"}, cur, **kw)


def status(p: dict, views: list[ContainerView], init: list[ContainerView] | None = None, **kw) -> dict:
    return pod_status(
        p, init or [], views, pod_ip="10.244.1.2", host_ip="10.0.0.1", start_time=NOW, now=NOW, **kw
    )


def conditions(s: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in s["conditions"]}


def test_running_and_ready() -> None:
    s = status(pod(), [view("a", info("a", "running"), ready=True, started=True)])
    assert s["phase"] == "Running"
    assert conditions(s)["Ready"] == "True" and conditions(s)["ContainersReady"] == "True"
    cs = s["containerStatuses"][0]
    assert cs["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert cs["containerID"] == "docker://id-a-0" and cs["imageID"] == "docker://sha256:abc"
    assert s["podIP"] == "10.244.1.2" and s["podIPs"] == [{"ip": "10.244.1.2"}] and s["hostIP"] == "10.0.0.1"


def test_not_started_container_is_pending_container_creating() -> None:
    s = status(pod(), [view("a", None)])
    assert s["phase"] == "Pending"
    assert s["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert conditions(s)["Ready"] == "False"


def test_crash_loop_is_running_with_last_state() -> None:
    cur = info("a", "exited", exit_code=2, restarts=3)
    s = status(pod(), [view("a", cur, waiting_reason="CrashLoopBackOff", waiting_message="back-off 40s")])
    cs = s["containerStatuses"][0]
    assert s["phase"] == "Running"
    assert cs["state"]["waiting"] == {"reason": "CrashLoopBackOff", "message": "back-off 40s"}
    assert (
        cs["lastState"]["terminated"]["exitCode"] == 2 and cs["lastState"]["terminated"]["reason"] == "Error"
    )
    assert cs["restartCount"] == 3


def test_terminal_phases_follow_restart_policy() -> None:
    ok, bad = info("a", "exited", 0), info("b", "exited", 1)
    assert status(pod("Never", ("a",)), [view("a", ok)])["phase"] == "Succeeded"
    assert status(pod("Never", ("a", "b")), [view("a", ok), view("b", bad)])["phase"] == "Failed"
    assert status(pod("OnFailure", ("a",)), [view("a", ok)])["phase"] == "Succeeded"
    assert status(pod("OnFailure", ("b",)), [view("b", bad)])["phase"] == "Running"
    assert status(pod("Always", ("a",)), [view("a", ok)])["phase"] == "Running"
    assert status(pod(), [view("a", info("a", "exited", 137, oom=True))])["containerStatuses"][0]["state"][
        "terminated"]["reason"] == "OOMKilled"  # fmt: skip


def test_init_containers_gate_the_pod() -> None:
    p = pod()
    p["spec"]["initContainers"] = [{"name": "i", "image": "busybox"}]
    running_init = [ContainerView({"name": "i", "image": "busybox"}, info("i", "running"))]
    s = status(p, [view("a", None)], init=running_init)
    assert s["phase"] == "Pending" and conditions(s)["Initialized"] == "False"
    done_init = [ContainerView({"name": "i", "image": "busybox"}, info("i", "exited", 0))]
    s = status(p, [view("a", info("a", "running"), ready=True, started=True)], init=done_init)
    assert s["phase"] == "Running" and conditions(s)["Initialized"] == "True"
    assert s["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    failed = [ContainerView({"name": "i", "image": "busybox"}, info("i", "exited", 1))]
    assert status(p, [view("a", None)], init=failed, init_failed=True)["phase"] == "Failed"


def test_condition_transition_time_is_kept_while_status_holds() -> None:
    p = pod()
    p["status"] = {
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}]
    }
    s = status(p, [view("a", info("a", "running"), ready=True, started=True)])
    ready = next(c for c in s["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    s = status(p, [view("a", info("a", "running"), ready=False, started=True)])
    ready = next(c for c in s["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == NOW and ready["status"] == "False"


def test_terminal_phase_never_changes() -> None:
    p = pod()
    p["status"] = {"phase": "Succeeded"}
    assert status(p, [view("a", info("a", "running"))])["phase"] == "Succeeded"


def test_qos_class() -> None:
    p = pod()
    assert qos_class(p) == "BestEffort"
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class(p) == "Guaranteed"
    p["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "500m"}
    assert qos_class(p) == "Burstable"

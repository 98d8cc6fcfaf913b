"""Builders: a pod's spec to the arguments of Docker's container create (no I/O here, except that bind mounts
are resolved on the host's filesystem to keep them inside their volume).

sandbox_name / container_name   dockershim-style unique names (k8s_<container>_<pod>_<ns>_<uid>_<attempt>)
pod_labels                      the re-adoption labels of runtime.docker
resource_args                   limits.cpu -> nano_cpus, requests.cpu -> cpu_shares, limits.memory -> mem_limit
volume_paths / volume_mounts    emptyDir under the pod's dir, hostPath as given, the API volumes (kubelet.volumes)
                                in theirs; volumeMounts -> bind mounts that stay inside their volume (runtime.mounts)
container_args                  everything above, for one container of a pod, given its env (kubelet.env), with
                                $(VAR) references in command and args expanded
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docker.types import DriverConfig, Mount

from apimachinery.validation import is_dns1123_label, is_dns1123_subdomain
from kubelet.env import expand
from kubelet.quantity import cpu_millis, memory_bytes
from kubelet.runtime.docker import (
    LABEL_CONTAINER_NAME,
    LABEL_GRACE,
    LABEL_INIT,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_RESTART_COUNT,
    LABEL_TYPE,
    TYPE_CONTAINER,
    TYPE_SANDBOX,
)
from kubelet.runtime.mounts import (
    MEMORY,
    READ_ONLY,
    MountError,
    check_host_path,
    check_target,
    check_volume_name,
    resolve_binds,
)
from kubelet.volumes import API_VOLUME, PLUGIN_DIRS, api_volume_kind

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_.-]")


def _part(s: str) -> str:
    return _INVALID_NAME.sub("-", s)


def sandbox_name(pod: dict[str, Any], attempt: int) -> str:
    md = pod["metadata"]
    return f"k8s_POD_{_part(md['name'])}_{_part(md.get('namespace', 'default'))}_{md['uid']}_{attempt}"


def container_name(pod: dict[str, Any], name: str, restart_count: int) -> str:
    md = pod["metadata"]
    return f"k8s_{_part(name)}_{_part(md['name'])}_{_part(md.get('namespace', 'default'))}_{md['uid']}_{restart_count}"


def pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    md = pod["metadata"]
    grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
    return {
        LABEL_POD_UID: md["uid"],
        LABEL_POD_NAMESPACE: md.get("namespace", "default"),
        LABEL_POD_NAME: md["name"],
        LABEL_GRACE: str(grace if grace is not None else 30),
    }


def sandbox_labels(pod: dict[str, Any], attempt: int) -> dict[str, str]:
    return {**pod_labels(pod), LABEL_TYPE: TYPE_SANDBOX, LABEL_RESTART_COUNT: str(attempt)}


def container_labels(pod: dict[str, Any], name: str, restart_count: int, init: bool) -> dict[str, str]:
    labels = {
        **pod_labels(pod),
        LABEL_TYPE: TYPE_CONTAINER,
        LABEL_CONTAINER_NAME: name,
        LABEL_RESTART_COUNT: str(restart_count),
    }
    if init:
        labels[LABEL_INIT] = "true"
    return labels


def resource_args(container: dict[str, Any]) -> dict[str, Any]:
    """Docker resource options: CPU limit as a CFS quota (nano_cpus), CPU request as shares, memory limit."""
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    args: dict[str, Any] = {}
    if "cpu" in limits:
        args["nano_cpus"] = cpu_millis(limits["cpu"]) * 1_000_000
    cpu_request = requests.get("cpu", limits.get("cpu"))
    if cpu_request is not None:
        # The kubelet's formula: shares = millicores * 1024 / 1000, at least 2 (the kernel minimum).
        args["cpu_shares"] = max(2, cpu_millis(cpu_request) * 1024 // 1000)
    if "memory" in limits:
        args["mem_limit"] = memory_bytes(limits["memory"])
    return args


_UID = re.compile(r"[A-Za-z0-9][-A-Za-z0-9]{0,63}")


def valid_uid(uid: Any) -> bool:
    """A pod uid is a directory name under the kubelet's root: letters, digits and '-' only (server-made uids are
    UUIDs), so a uid written past the API cannot name `..`."""
    return isinstance(uid, str) and bool(_UID.fullmatch(uid))


def pod_problem(pod: dict[str, Any]) -> str | None:
    """Why this kubelet must not run `pod` at all, or None. The API refuses all of these; a pod written to storage
    past it is refused here, before its uid or names reach a path, a container name or CNI's arguments."""
    md = pod.get("metadata") or {}
    if not valid_uid(md.get("uid")):
        return f"pod uid {md.get('uid')!r} is not a valid uid"
    namespace, name = md.get("namespace") or "default", md.get("name")
    if not isinstance(namespace, str) or is_dns1123_label(namespace):
        return f"namespace {namespace!r} is not a valid name"
    if not isinstance(name, str) or is_dns1123_subdomain(name):
        return f"pod name {name!r} is not a valid name"
    spec = pod.get("spec") or {}
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            cname = c.get("name") if isinstance(c, dict) else None
            if not isinstance(cname, str) or is_dns1123_label(cname):
                return f"container name {cname!r} is not a valid name"
    return None


def pod_dir(root_dir: Path, pod: dict[str, Any]) -> Path:
    uid = pod["metadata"]["uid"]
    if not valid_uid(uid):
        raise MountError(f"pod uid {uid!r} is not a valid uid")
    return root_dir / "pods" / uid


def volume_paths(root_dir: Path, pod: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """name -> (host path or Docker volume, kind) for the volumes this kubelet supports (emptyDir, emptyDir medium
    Memory, hostPath, persistentVolumeClaim, and the API volumes: configMap, secret, downwardAPI, projected). Raises
    MountError for a volume name or hostPath that could reach outside its place."""
    paths: dict[str, tuple[str, str | None]] = {}
    base = pod_dir(root_dir, pod) / "volumes"
    for vol in pod.get("spec", {}).get("volumes") or []:
        if "emptyDir" in vol:
            name = check_volume_name(vol.get("name"))
            if (vol["emptyDir"] or {}).get("medium") == "Memory":
                paths[name] = (memory_volume_name(pod, name), MEMORY)
            else:
                paths[name] = (str(base / "kubernetes.io~empty-dir" / name), "DirectoryOrCreate")
        elif "hostPath" in vol:
            name = check_volume_name(vol.get("name"))
            hp = vol["hostPath"] or {}
            paths[name] = (check_host_path(hp.get("path")), hp.get("type") or None)
        elif "persistentVolumeClaim" in vol:
            # a link to the claim's volume directory, made by kubelet/claims.py before the containers start
            name = check_volume_name(vol.get("name"))
            claim_kind = READ_ONLY if (vol["persistentVolumeClaim"] or {}).get("readOnly") else "Claim"
            paths[name] = (str(base / "kubernetes.io~pvc" / name), claim_kind)
        elif (kind := api_volume_kind(vol)) is not None:
            # written by kubelet/volumes before the containers start
            name = check_volume_name(vol.get("name"))
            paths[name] = (str(base / PLUGIN_DIRS[kind] / name), API_VOLUME)
    return paths


def memory_volume_name(pod: dict[str, Any], name: str) -> str:
    """The Docker volume of an emptyDir of medium Memory: one per pod and volume, shared by its containers."""
    uid = pod["metadata"]["uid"]
    if not valid_uid(uid):
        raise MountError(f"pod uid {uid!r} is not a valid uid")
    return f"kubelite-memory-{uid}-{check_volume_name(name)}"


def pod_memory_limit(pod: dict[str, Any]) -> int | None:
    """The pod's memory limit in bytes, as upstream's PodLimits: the sum of its app containers' limits, or the
    largest init container's if that is more; None when an app container has no limit (the pod has none)."""
    spec = pod.get("spec") or {}

    def limit(c: dict[str, Any]) -> int | None:
        value = ((c.get("resources") or {}).get("limits") or {}).get("memory")
        return memory_bytes(value) if value is not None else None

    apps = [limit(c) for c in spec.get("containers") or []]
    if not apps or any(v is None for v in apps):
        return None
    inits = [v for v in (limit(c) for c in spec.get("initContainers") or []) if v is not None]
    return max([sum(v for v in apps if v is not None), *inits])


def _memory_volumes(pod: dict[str, Any]) -> dict[str, int | None]:
    """name -> size in bytes (or None: tmpfs's default) of the pod's emptyDir medium Memory volumes: the volume's
    sizeLimit, or the pod's memory limit when that is smaller or there is no sizeLimit (as the kubelet sizes them)."""
    pod_limit = pod_memory_limit(pod)
    out: dict[str, int | None] = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if isinstance(v, dict) and "emptyDir" in v and (v["emptyDir"] or {}).get("medium") == "Memory":
            size_limit = (v["emptyDir"] or {}).get("sizeLimit")
            sizes = [
                x for x in (memory_bytes(size_limit) if size_limit is not None else None, pod_limit) if x
            ]
            out[v["name"]] = min(sizes) if sizes else None
    return out


def _memory_mount(pod: dict[str, Any], name: str, size: int | None, target: str, read_only: bool) -> Mount:
    options = {"type": "tmpfs", "device": "tmpfs"}
    mount_options = [f"size={size}"] if size is not None else []
    fs_group = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    if (
        fs_group is not None
    ):  # the tmpfs root as an fsGroup volume's: the group's, setgid (and sticky, as tmpfs is)
        mount_options += [f"gid={_id(fs_group, 'fsGroup')}", "mode=3777"]
    if mount_options:
        options["o"] = ",".join(mount_options)
    return Mount(
        target, memory_volume_name(pod, name), type="volume", read_only=read_only,
        labels={LABEL_POD_UID: pod["metadata"]["uid"]}, driver_config=DriverConfig("local", options),
    )  # fmt: skip


def memory_mounts(pod: dict[str, Any], container: dict[str, Any]) -> list[Mount]:
    """tmpfs volumes for the container's mounts of emptyDir medium Memory volumes, sized by `_memory_volumes`
    (Docker's local driver with type tmpfs; the volume is labelled with the pod's uid and removed with the pod)."""
    memory = _memory_volumes(pod)
    return [
        _memory_mount(pod, m["name"], memory[m["name"]], check_target(m), m.get("readOnly") is True)
        for m in container.get("volumeMounts") or []
        if isinstance(m, dict) and m.get("name") in memory
    ]


def sandbox_mounts(pod: dict[str, Any]) -> list[Mount]:
    """The pod's tmpfs volumes, mounted in its pause container too: Docker unmounts (and empties) a tmpfs volume
    when no container has it mounted, so the sandbox keeps it alive for the life of the pod (an init container's
    files reach the app containers, and survive container restarts)."""
    return [
        _memory_mount(pod, name, size, f"/kubelite-memory/{check_volume_name(name)}", False)
        for name, size in _memory_volumes(pod).items()
    ]


def volume_mounts(container: dict[str, Any], paths: dict[str, tuple[str, str | None]]) -> list[Mount]:
    """Docker bind mounts for the container's volumeMounts: sources resolved and kept inside their volume
    (`runtime.mounts`), passed as structured mounts rather than "src:dst:mode" strings."""
    return [
        Mount(b.target, b.source, type="bind", read_only=b.read_only) for b in resolve_binds(container, paths)
    ]


def container_args(
    pod: dict[str, Any],
    container: dict[str, Any],
    *,
    sandbox_id: str,
    restart_count: int,
    init: bool,
    root_dir: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    """Keyword arguments for `DockerRuntime.create` of one app or init container with environment `env`."""
    args: dict[str, Any] = {
        "image": container["image"],
        "name": container_name(pod, container["name"], restart_count),
        "labels": container_labels(pod, container["name"], restart_count, init),
        "environment": env,
        "network_mode": f"container:{sandbox_id}",
        "ipc_mode": f"container:{sandbox_id}",
        "mounts": volume_mounts(container, volume_paths(root_dir, pod)) + memory_mounts(pod, container),
        "tty": bool(container.get("tty")),
        "stdin_open": bool(container.get("stdin")),
        **resource_args(container),
    }
    # command replaces the image's ENTRYPOINT (and then its CMD is dropped), args replace CMD: Docker's own rule.
    if container.get("command"):
        args["entrypoint"] = [expand(str(c), env) for c in container["command"]]
    if container.get("args"):
        args["command"] = [expand(str(a), env) for a in container["args"]]
    if container.get("workingDir"):
        args["working_dir"] = container["workingDir"]
    args.update(identity_args(pod, container))
    if (container.get("securityContext") or {}).get("privileged"):
        args["privileged"] = True
    return args


def identity_args(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """Docker's user and group_add for a container: runAsUser/runAsGroup from the container's securityContext,
    else the pod's; the pod's fsGroup and supplementalGroups as supplementary groups (checked again here: they
    reach Docker as strings)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    args: dict[str, Any] = {}
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    gid = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    if uid is not None:
        args["user"] = str(_id(uid, "runAsUser")) + (f":{_id(gid, 'runAsGroup')}" if gid is not None else "")
    groups = [pod_sc["fsGroup"]] if pod_sc.get("fsGroup") is not None else []
    groups += list(pod_sc.get("supplementalGroups") or [])
    if groups:
        args["group_add"] = list(dict.fromkeys(str(_id(g, "supplementalGroups")) for g in groups))
    return args


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise MountError(f"{what} {value!r} is not a valid id")
    return value

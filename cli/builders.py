"""Pure builders of the objects that `run`, `create deployment` and `expose` send (kubectl's shapes)."""

from __future__ import annotations

from typing import Any

from cli.errors import CLIError


def parse_pairs(items: list[str], what: str) -> dict[str, str]:
    """`["a=1", "b=2"]` (or one comma-separated string) -> {"a": "1", "b": "2"}."""
    out: dict[str, str] = {}
    for item in items:
        for part in item.split(",") if what == "labels" else [item]:
            key, sep, value = part.partition("=")
            if not sep or not key:
                raise CLIError(f"invalid {what} {part!r}: expected KEY=VALUE")
            out[key] = value
    return out


def container(
    name: str,
    image: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    args: list[str] | None = None,
    pull_policy: str | None = None,
) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image, "resources": {}}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if port:
        c["ports"] = [{"containerPort": port}]
    if env:
        c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if pull_policy:
        c["imagePullPolicy"] = pull_policy
    return c


def pod(
    name: str,
    image: str,
    *,
    labels: dict[str, str] | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    restart: str = "Always",
    command: list[str] | None = None,
    args: list[str] | None = None,
    pull_policy: str | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The Pod of `kubectl run NAME --image=IMAGE` (label run=NAME unless --labels)."""
    if restart not in ("Always", "OnFailure", "Never"):
        raise CLIError(f"invalid restart policy: {restart} (use Always, OnFailure or Never)")
    meta: dict[str, Any] = {"name": name, "labels": labels or {"run": name}}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [container(name, image, port, env, command, args, pull_policy)],
            "restartPolicy": restart,
            "dnsPolicy": "ClusterFirst",
        },
    }


def deployment(
    name: str, images: list[str], replicas: int, port: int | None, namespace: str | None
) -> dict[str, Any]:
    """The Deployment of `kubectl create deployment NAME --image=...` (label app=NAME)."""
    containers = []
    for image in images:
        base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        containers.append(container(base, image, port))
    labels = {"app": name}
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": containers}},
        },
    }


def selector_of(obj: dict[str, Any]) -> dict[str, str]:
    """The pod selector of what `expose` exposes: a workload's matchLabels, a pod's labels, a service's selector."""
    kind = obj.get("kind")
    if kind == "Pod":
        sel = (obj.get("metadata") or {}).get("labels") or {}
    elif kind == "Service":
        sel = (obj.get("spec") or {}).get("selector") or {}
    else:
        selector = (obj.get("spec") or {}).get("selector") or {}
        if selector.get("matchExpressions"):
            raise CLIError(
                "couldn't retrieve selectors via --selector flag or introspection: the selector has "
                "matchExpressions, which a Service cannot express"
            )
        sel = selector.get("matchLabels") or {}
    if not sel:
        raise CLIError(f"couldn't retrieve selectors via --selector flag or introspection: {kind} has none")
    return dict(sel)


def ports_of(obj: dict[str, Any]) -> list[int]:
    """Container ports of a pod or of a workload's template (expose without --port)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Service":
        return [p["port"] for p in spec.get("ports") or [] if "port" in p]
    pod_spec = spec if obj.get("kind") == "Pod" else (spec.get("template") or {}).get("spec") or {}
    return [p["containerPort"] for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def service(
    name: str,
    selector: dict[str, str],
    ports: list[int],
    target_port: str | None,
    svc_type: str | None,
    protocol: str,
    labels: dict[str, str] | None,
    namespace: str | None,
) -> dict[str, Any]:
    """The Service of `kubectl expose`."""
    spec_ports: list[dict[str, Any]] = []
    for i, p in enumerate(ports):
        entry: dict[str, Any] = {"port": p, "protocol": protocol}
        if target_port is not None:
            entry["targetPort"] = int(target_port) if target_port.isdigit() else target_port
        else:
            entry["targetPort"] = p
        if len(ports) > 1:
            entry["name"] = f"port-{i + 1}"
        spec_ports.append(entry)
    spec: dict[str, Any] = {"ports": spec_ports, "selector": selector}
    if svc_type:
        types = {t.lower(): t for t in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")}
        if svc_type.lower() not in types:
            raise CLIError(f'invalid service type "{svc_type}" (ClusterIP, NodePort, LoadBalancer)')
        spec["type"] = types[svc_type.lower()]
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _job_spec(name: str, image: str, command: list[str], restart: str) -> dict[str, Any]:
    """A Job's spec as `kubectl create job/cronjob` writes it: one container named like the object."""
    c: dict[str, Any] = {"name": name, "image": image, "resources": {}}
    if command:
        c["command"] = command
    return {"template": {"metadata": {}, "spec": {"containers": [c], "restartPolicy": restart}}}


def _meta(name: str, namespace: str | None) -> dict[str, Any]:
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


def job(name: str, image: str, command: list[str], namespace: str | None) -> dict[str, Any]:
    """The Job of `kubectl create job NAME --image=IMAGE [-- COMMAND...]` (restartPolicy Never)."""
    spec = _job_spec(name, image, command, "Never")
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name, namespace), "spec": spec}


def cronjob(
    name: str, image: str, schedule: str, command: list[str], restart: str, namespace: str | None
) -> dict[str, Any]:
    """The CronJob of `kubectl create cronjob NAME --image=IMAGE --schedule=... [-- COMMAND...]`."""
    if restart not in ("OnFailure", "Never"):
        raise CLIError(f"invalid restart policy: {restart}")
    job_spec = _job_spec(name, image, command, restart)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, namespace),
        "spec": {"schedule": schedule, "jobTemplate": {"metadata": {"name": name}, "spec": job_spec}},
    }


def job_from_cronjob(cronjob: dict[str, Any], name: str, namespace: str | None) -> dict[str, Any]:
    """`kubectl create job NAME --from=cronjob/X`: the CronJob's jobTemplate, marked as started by hand and
    owned by the CronJob (controller, without blockOwnerDeletion, as kubectl sets it)."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {
        "name": name,
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual", **(tmeta.get("annotations") or {})},
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": cronjob["metadata"]["name"],
                "uid": cronjob["metadata"]["uid"],
                "controller": True,
            }
        ],
    }
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": template.get("spec") or {}}

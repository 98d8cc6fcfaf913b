"""Object factories for tests: the smallest valid manifests, as plain JSON dicts (as they travel on the wire)."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]  # an API object as JSON: the one definition the tests import


def _container(
    name: str = "app",
    image: str = "busybox:1",
    *,
    ports: list[int] | list[Obj] | None = None,
    cpu: str | None = None,
    **fields: Any,
) -> Obj:
    """One container `name` running `image`; `ports` become container ports (a number, or the port's whole entry), `cpu` a CPU request, `fields` are
    added as they are (command, env, readinessProbe, ...)."""
    box: Obj = {"name": name, "image": image}
    if ports:
        box["ports"] = [{"containerPort": p} if isinstance(p, int) else p for p in ports]
    if cpu:
        box["resources"] = {"requests": {"cpu": cpu}}
    box.update(fields)
    return box


container = _container  # (a parameter of pod and deployment has the same name)


def _metadata(name: str, namespace: str | None, labels: dict[str, str] | None, extra: Obj | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = dict(labels)
    meta.update(extra or {})
    return meta


def manifest(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    *,
    labels: dict[str, str] | None = None,
    **fields: Any,
) -> Obj:
    """Any object `kind` `name` (in `namespace` if given, labelled `labels`) with top-level `fields` (spec, data,
    ...) as they are: for a kind without a factory of its own, or a body a test makes invalid on purpose."""
    meta = _metadata(name, namespace, labels, None)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def pod(
    name: str,
    labels: dict[str, str] | None = None,
    image: str = "busybox:1",
    container: str = "app",
    *,
    namespace: str | None = None,
    node: str | None = None,
    containers: list[Obj] | None = None,
    metadata: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A Pod `name` with one container `container` running `image` (or `containers`, each given `image` if it has
    none), on `node` if given; `spec` adds or replaces pod spec fields, `metadata` adds metadata fields."""
    if containers is None:
        containers = [{"name": container, "image": image}]
    for box in containers:
        box.setdefault("image", image)
    body: Obj = {"containers": containers}
    if node is not None:
        body["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(name, namespace, labels or {}, metadata),
        "spec": {**body, **spec},
    }


def template(labels: dict[str, str], containers: list[Obj], **spec: Any) -> Obj:
    """A pod template: pods labelled `labels` running `containers`; `spec` adds pod spec fields."""
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": containers, **spec}}


def _workload(
    kind: str, metadata: Obj, labels: dict[str, str], containers: list[Obj], pod_spec: Obj | None, spec: Obj
) -> Obj:
    """An apps/v1 `kind` selecting `labels`, whose pod template labels its pods so and runs `containers`."""
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": template(labels, containers, **(pod_spec or {})),
            **spec,
        },
    }


def workload(
    kind: str,
    name: str,
    containers: list[Obj],
    *,
    labels: dict[str, str] | None = None,
    pod_spec: Obj | None = None,
    **spec: Any,
) -> Obj:
    """An apps/v1 `kind` (DaemonSet, StatefulSet, ...) `name` selecting `labels` (default `app=<name>`) of pods
    running `containers`; `pod_spec` adds pod spec fields, `spec` the kind's spec fields, as they are."""
    return _workload(kind, {"name": name}, labels or {"app": name}, containers, pod_spec, spec)


def deployment(
    name: str,
    replicas: int = 2,
    image: str = "nginx:1.25",
    container: str = "app",
    ports: list[int] | None = None,
    *,
    labels: dict[str, str] | None = None,
    namespace: str | None = None,
    containers: list[Obj] | None = None,
    metadata: Obj | None = None,
    labelled: bool = True,
    pod_spec: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A Deployment `name` selecting `labels` (default `app=<name>`), whose pods run one container `container`
    with `image` (and `ports` as container ports), or `containers`. The Deployment carries the labels itself unless
    `labelled` is false; `pod_spec` adds pod spec fields, `spec` Deployment spec fields (strategy, ...)."""
    labels = labels or {"app": name}
    containers = containers or [_container(container, image, ports=ports)]
    meta = _metadata(name, namespace, labels if labelled else None, metadata)
    return _workload("Deployment", meta, labels, containers, pod_spec, {"replicas": replicas, **spec})


def replicaset(
    name: str,
    replicas: int,
    labels: dict[str, str] | None = None,
    image: str = "busybox:1",
    container: str = "c",
    *,
    pod_spec: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A ReplicaSet `name` selecting `labels` (default `app=<name>`) of pods running `image`."""
    labels = labels or {"app": name}
    containers = [{"name": container, "image": image}]
    return _workload(
        "ReplicaSet", {"name": name}, labels, containers, pod_spec, {"replicas": replicas, **spec}
    )


def revision_replicaset(owner: Obj, revision: int, image: str, replicas: int = 0) -> Obj:
    """The ReplicaSet the Deployment controller keeps for revision `revision` of `owner` (a stored Deployment, with
    its uid): `owner`'s pod template with its first container on `image`, labelled with the pod-template-hash
    `h<revision>abc`, and controlled by `owner`."""
    name, hash_ = owner["metadata"]["name"], f"h{revision}abc"
    pods = copy.deepcopy(owner["spec"]["template"])
    pods["spec"]["containers"][0]["image"] = image
    labels = pods["metadata"]["labels"] = {**pods["metadata"]["labels"], "pod-template-hash": hash_}
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": owner["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    meta = _metadata(f"{name}-{hash_}", None, labels, {"annotations": annotations, "ownerReferences": [ref]})
    spec = {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": pods}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": spec}


def daemonset(name: str, containers: list[Obj], *, pod_spec: Obj | None = None, **spec: Any) -> Obj:
    """A DaemonSet `name` of pods labelled `app=<name>` running `containers` (see `workload`)."""
    return workload("DaemonSet", name, containers, pod_spec=pod_spec, **spec)


def statefulset(
    name: str,
    replicas: int,
    containers: list[Obj],
    *,
    labels: dict[str, str] | None = None,
    service: str | None = None,
    pod_spec: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A StatefulSet `name` of `replicas` pods labelled `labels` (default `app=<name>`) running `containers`,
    governed by the Service `service` (default `name`); `pod_spec` adds pod spec fields, `spec` StatefulSet spec
    fields (volumeClaimTemplates, podManagementPolicy, ...)."""
    spec = {"replicas": replicas, "serviceName": service or name, **spec}
    return workload("StatefulSet", name, containers, labels=labels, pod_spec=pod_spec, **spec)


def claim_template(
    name: str,
    storage_class: str | None = None,
    size: str = "64Mi",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    *,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    """The metadata and spec of a PersistentVolumeClaim `name` for `size` of `storage_class` (as a StatefulSet's
    volumeClaimTemplates hold them); `spec` adds claim spec fields (volumeName, ...)."""
    body: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        body["storageClassName"] = storage_class
    return {"metadata": _metadata(name, None, labels, None), "spec": {**body, **spec}}


def claim(
    name: str,
    storage_class: str | None = None,
    size: str = "64Mi",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    **spec: Any,
) -> Obj:
    """A PersistentVolumeClaim `name` for `size` of `storage_class`; `spec` adds claim spec fields."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        **claim_template(name, storage_class, size, modes, **spec),
    }


def persistent_volume(name: str, size: str = "64Mi", **spec: Any) -> Obj:
    """A ReadWriteOnce PersistentVolume `name` of `size`; `spec` gives its source (local, hostPath, ...) and adds
    other spec fields."""
    body = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": body}


def local_volume(name: str, path: str, node_affinity: Obj, size: str = "64Mi", **spec: Any) -> Obj:
    """A local PersistentVolume `name` at `path` on the nodes `node_affinity` picks; `spec` adds spec fields."""
    return persistent_volume(name, size, local={"path": path}, nodeAffinity=node_affinity, **spec)


def job(
    name: str,
    containers: list[Obj],
    restart: str = "Never",
    *,
    pod_spec: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A Job `name` whose pods run `containers` with restartPolicy `restart`; `pod_spec` adds pod spec fields,
    `spec` Job spec fields (completions, parallelism, backoffLimit, ...)."""
    pods = {"spec": {"containers": containers, "restartPolicy": restart, **(pod_spec or {})}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": pods, **spec},
    }


def cronjob(
    name: str, schedule: str, job_spec: Obj, *, job_labels: dict[str, str] | None = None, **spec: Any
) -> Obj:
    """A CronJob `name` on `schedule` whose Jobs have the spec `job_spec` (a Job's spec, as `job(...)["spec"]`) and
    the labels `job_labels`; `spec` adds CronJob spec fields (suspend, concurrencyPolicy, ...)."""
    template: Obj = {"spec": job_spec}
    if job_labels is not None:
        template = {"metadata": {"labels": dict(job_labels)}, **template}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": schedule, "jobTemplate": template, **spec},
    }


def service(
    name: str,
    selector: dict[str, str] | None = None,
    port: int = 80,
    target_port: int | str = 8080,
    *,
    namespace: str | None = None,
    port_name: str | None = "http",
    **spec: Any,
) -> Obj:
    """A Service `name` sending `port` to `target_port` of the pods `selector` picks (default `app=<name>`)."""
    entry: Obj = {"port": port, "targetPort": target_port}
    if port_name:
        entry = {"name": port_name, **entry}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace, None, None),
        "spec": {"selector": selector if selector is not None else {"app": name}, "ports": [entry], **spec},
    }


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    """A Namespace `name`, labelled `labels` if given."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(name, None, labels, None)}


def configmap(
    name: str,
    data: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    *,
    namespace: str | None = None,
) -> Obj:
    """A ConfigMap `name` holding `data`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(name, namespace, labels or {}, None),
        "data": dict(data or {}),
    }


def network_policy(name: str, spec: Obj, *, namespace: str | None = None) -> Obj:
    """A NetworkPolicy `name` with `spec` as given."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(name, namespace, None, None),
        "spec": spec,
    }


def cpu_utilization(percent: int) -> Obj:
    """An HPA metric: average CPU utilization of `percent` per cent of the pods' requests."""
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def hpa(
    name: str,
    max_replicas: int = 3,
    target: Obj | None = None,
    *,
    api_version: str = "autoscaling/v2",
    namespace: str | None = None,
    **spec: Any,
) -> Obj:
    """A HorizontalPodAutoscaler `name` scaling `target` (default the Deployment `name`) up to `max_replicas`, in
    `api_version`; `spec` adds spec fields (minReplicas, metrics, behavior, ...)."""
    target = target or {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    return {
        "apiVersion": api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(name, namespace, None, None),
        "spec": {"scaleTargetRef": target, "maxReplicas": max_replicas, **spec},
    }


def crd(group: str, kind: str, plural: str, schema: Obj, *, scope: str = "Namespaced", **names: Any) -> Obj:
    """A CustomResourceDefinition `plural`.`group` of `kind`, serving and storing one version v1 whose objects
    `schema` (an openAPIV3Schema) describes; `names` adds names fields (listKind, shortNames, ...)."""
    version = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, **names},
            "versions": [version],
        },
    }


def crontab_crd(
    group: str = "stable.example.com",
    plural: str = "crontabs",
    kind: str = "CronTab",
    scope: str = "Namespaced",
    short_names: tuple[str, ...] = ("ct",),
) -> Obj:
    """A CustomResourceDefinition in the shape of the Kubernetes documentation's CronTab example: versions v1
    (storage) and v1beta1, a structural schema with a default, an enum, a pattern, an int-or-string, a
    preserve-unknown-fields map and an embedded resource, status and scale subresources and printer columns."""
    schema: Obj = {
        "type": "object",
        "description": f"{kind} runs a command on a schedule.",
        "properties": {
            "spec": {
                "type": "object",
                "description": "What to run and when.",
                "required": ["cronSpec"],
                "properties": {
                    "cronSpec": {
                        "type": "string",
                        "description": "The schedule, in cron format.",
                        "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$",
                    },
                    "image": {"type": "string", "description": "The image to run."},
                    "replicas": {"type": "integer", "minimum": 0, "default": 1, "description": "How many."},
                    "policy": {"type": "string", "enum": ["Allow", "Forbid"], "default": "Allow"},
                    "timeout": {"x-kubernetes-int-or-string": True, "description": "Seconds, or a duration."},
                    "note": {"type": "string", "nullable": True},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "selector": {"type": "string"},
                    "lastRun": {"type": "string", "format": "date-time"},
                },
            },
        },
    }
    columns = [
        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    subresources = {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    made = crd(group, kind, plural, schema, scope=scope, shortNames=list(short_names))
    v1 = {**made["spec"]["versions"][0], "subresources": subresources, "additionalPrinterColumns": columns}
    made["spec"]["versions"] = [v1, {**copy.deepcopy(v1), "name": "v1beta1", "storage": False}]
    return made

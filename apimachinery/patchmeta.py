"""Strategic-merge patch metadata of the built-in types: which lists merge by which key, which are sets.

What the Go struct tags of Kubernetes' types declare (`patchStrategy`, `patchMergeKey`). The apiserver applies
strategic merge patches with it (apiserver/strategic.py), publishes it in OpenAPI, and kctl computes its three-way
apply patches with it (cli/threeway.py), so the three always agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """Patch metadata of one field: the type of its value (or of its list items) and its patch strategy."""

    type: str | None = None
    merge_key: str | None = None
    strategy: str = (
        ""  # "merge", "retainKeys", "merge,retainKeys", "replace" or "" (merge maps, replace lists)
    )

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy.split(",")


def _keyed(key: str, item: str | None = None, strategy: str = "merge") -> Field:
    return Field(item, key, strategy)


_SET = Field(None, None, "merge")  # a list of primitives merged as a set
_CONDITIONS = _keyed("type")

# Only fields that carry patch metadata or lead to such fields are listed; everything else merges as JSON.
TYPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {"finalizers": _SET, "ownerReferences": _keyed("uid")},
    "PodTemplateSpec": {"metadata": Field("ObjectMeta"), "spec": Field("PodSpec")},
    "PodSpec": {
        "volumes": _keyed("name", "Volume", "merge,retainKeys"),
        "initContainers": _keyed("name", "Container"),
        "containers": _keyed("name", "Container"),
        "ephemeralContainers": _keyed("name", "Container"),
        "imagePullSecrets": _keyed("name"),
        "hostAliases": _keyed("ip"),
        "topologySpreadConstraints": _keyed("topologyKey"),
        "schedulingGates": _keyed("name"),
        "resourceClaims": _keyed("name", None, "merge,retainKeys"),
    },
    "Container": {
        "ports": _keyed("containerPort"),
        "env": _keyed("name"),
        "volumeMounts": _keyed("mountPath"),
        "volumeDevices": _keyed("devicePath"),
    },
    "Volume": {},
    "PodStatus": {
        "conditions": _CONDITIONS,
        "podIPs": _keyed("ip"),
        "hostIPs": _keyed("ip"),
    },
    "ServiceSpec": {"ports": _keyed("port")},
    "ServiceStatus": {"conditions": _CONDITIONS},
    "NodeSpec": {"podCIDRs": _SET},
    "NodeStatus": {"conditions": _CONDITIONS, "addresses": _keyed("type")},
    "NamespaceStatus": {"conditions": _CONDITIONS},
    "DeploymentSpec": {"template": Field("PodTemplateSpec"), "strategy": Field(None, None, "retainKeys")},
    "DeploymentStatus": {"conditions": _CONDITIONS},
    "ReplicaSetSpec": {"template": Field("PodTemplateSpec")},
    "ReplicaSetStatus": {"conditions": _CONDITIONS},
    "DaemonSetSpec": {"template": Field("PodTemplateSpec"), "updateStrategy": Field()},
    "DaemonSetStatus": {"conditions": _CONDITIONS},
    "JobSpec": {"template": Field("PodTemplateSpec")},
    "JobStatus": {"conditions": _CONDITIONS},
}


def _root(spec: str | None = None, status: str | None = None) -> dict[str, Field]:
    fields = {"metadata": Field("ObjectMeta")}
    if spec:
        fields["spec"] = Field(spec)
    if status:
        fields["status"] = Field(status)
    return fields


KINDS: dict[str, dict[str, Field]] = {
    "Pod": _root("PodSpec", "PodStatus"),
    "PodTemplate": {"metadata": Field("ObjectMeta"), "template": Field("PodTemplateSpec")},
    "Service": _root("ServiceSpec", "ServiceStatus"),
    "Node": _root("NodeSpec", "NodeStatus"),
    "Namespace": _root(None, "NamespaceStatus"),
    "Deployment": _root("DeploymentSpec", "DeploymentStatus"),
    "ReplicaSet": _root("ReplicaSetSpec", "ReplicaSetStatus"),
    "DaemonSet": _root("DaemonSetSpec", "DaemonSetStatus"),
    "Job": _root("JobSpec", "JobStatus"),
}
_GENERIC_ROOT = _root()


def fields_of(type_name: str | None) -> dict[str, Field]:
    """The patch metadata of a type's fields ({} for types without any)."""
    return TYPES.get(type_name or "", {})


def root_fields(kind: str) -> dict[str, Field]:
    """The patch metadata at the root of an object of `kind` (metadata only for kinds without any)."""
    return KINDS.get(kind, _GENERIC_ROOT)

"""The built-in resource types: names, kinds, groups, scope and the names kubectl users type.

One table serves the apiserver (routing, discovery, storage keys) and the clients (kctl resolves `po`, `deploy`,
`svc` with it, exactly as kubectl resolves them through discovery).

An entry here is a kind's whole declaration: its schema is the one Kubernetes publishes for that group, version
and kind (apimachinery.schemas), and its OpenAPI document, strategic merge metadata, protobuf decoding, table
columns and discovery entry all derive from the two. Adding a kind is one entry here, plus its strategy
(apiserver/strategy.py), its printer (apiserver/printers) and its controller where it has them. The apiserver
serves these and, beside them, the custom resources of established CustomResourceDefinitions
(apiserver/resourcetable.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Resources with only this verb are requests answered at once and never stored (TokenReview, the access reviews).
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class ResourceInfo:
    resource: str  # plural, as in URLs: "pods"
    kind: str  # "Pod"
    group: str  # "" for core
    version: str  # "v1"
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    list_kind: str = field(default="")
    singular_name: str = ""  # when it is not the kind in lower case (custom resources name theirs)

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """`deployments.apps`, or `pods` in the core group."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def stored(self) -> bool:
        return self.verbs != CREATE_ONLY

    def path_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        if self.namespaced and namespace:
            return f"{self.path_prefix()}/namespaces/{namespace}/{self.resource}"
        return f"{self.path_prefix()}/{self.resource}"

    def object_path(self, name: str, namespace: str | None = None, subresource: str | None = None) -> str:
        path = f"{self.collection_path(namespace)}/{name}"
        return f"{path}/{subresource}" if subresource else path


RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("namespaces", "Namespace", "", "v1", False, ("ns",), (), ("status", "finalize")),
    ResourceInfo(
        "pods",
        "Pod",
        "",
        "v1",
        True,
        ("po",),
        ("all",),
        ("status", "binding", "log", "eviction", "exec", "attach", "portforward"),
    ),
    ResourceInfo("nodes", "Node", "", "v1", False, ("no",), (), ("status",)),
    ResourceInfo("services", "Service", "", "v1", True, ("svc",), ("all",), ("status",)),
    ResourceInfo("endpoints", "Endpoints", "", "v1", True, ("ep",), (), (), list_kind="EndpointsList"),
    ResourceInfo("events", "Event", "", "v1", True, ("ev",), ()),
    # The same Events as events.k8s.io/v1 shows them (apiserver/eventsv1.py): one storage, two views.
    ResourceInfo("events", "Event", "events.k8s.io", "v1", True, ("ev",), ()),
    ResourceInfo("configmaps", "ConfigMap", "", "v1", True, ("cm",), ()),
    ResourceInfo("persistentvolumes", "PersistentVolume", "", "v1", False, ("pv",), (), ("status",)),
    ResourceInfo(
        "persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True, ("pvc",), (), ("status",)
    ),
    ResourceInfo("secrets", "Secret", "", "v1", True, (), ()),
    ResourceInfo("deployments", "Deployment", "apps", "v1", True, ("deploy",), ("all",), ("status", "scale")),
    ResourceInfo("replicasets", "ReplicaSet", "apps", "v1", True, ("rs",), ("all",), ("status", "scale")),
    ResourceInfo("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), ("all",), ("status",)),
    ResourceInfo("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), ("all",), ("status", "scale")),
    ResourceInfo("controllerrevisions", "ControllerRevision", "apps", "v1", True),
    ResourceInfo(
        "replicationcontrollers",
        "ReplicationController",
        "",
        "v1",
        True,
        ("rc",),
        ("all",),
        ("status", "scale"),
    ),
    ResourceInfo("jobs", "Job", "batch", "v1", True, (), ("all",), ("status",)),
    ResourceInfo("cronjobs", "CronJob", "batch", "v1", True, ("cj",), ("all",), ("status",)),
    ResourceInfo("leases", "Lease", "coordination.k8s.io", "v1", True, (), ()),
    # autoscaling/v2 is the storage version; v1 is a view of the same objects (apiserver/autoscalingv1.py).
    ResourceInfo(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        True,
        ("hpa",),
        ("all",),
        ("status",),
    ),
    ResourceInfo(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v1",
        True,
        ("hpa",),
        (),
        ("status",),
    ),
    ResourceInfo("endpointslices", "EndpointSlice", "discovery.k8s.io", "v1", True, (), ()),
    ResourceInfo("storageclasses", "StorageClass", "storage.k8s.io", "v1", False, ("sc",), ()),
    ResourceInfo("networkpolicies", "NetworkPolicy", "networking.k8s.io", "v1", True, ("netpol",), ()),
    ResourceInfo(
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        "v1",
        False,
        ("crd", "crds"),
        ("api-extensions",),
        ("status",),
    ),
    # Aggregation (apiserver/aggregator): which server serves a group and version.
    ResourceInfo(
        "apiservices",
        "APIService",
        "apiregistration.k8s.io",
        "v1",
        False,
        (),
        ("api-extensions",),
        ("status",),
    ),
    ResourceInfo("serviceaccounts", "ServiceAccount", "", "v1", True, ("sa",), (), ("token",)),
    ResourceInfo(
        "certificatesigningrequests",
        "CertificateSigningRequest",
        "certificates.k8s.io",
        "v1",
        False,
        ("csr",),
        (),
        ("status", "approval"),
    ),
    ResourceInfo("roles", "Role", "rbac.authorization.k8s.io", "v1", True),
    ResourceInfo("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", "v1", True),
    ResourceInfo("clusterroles", "ClusterRole", "rbac.authorization.k8s.io", "v1", False),
    ResourceInfo("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", False),
    # Reviews: create-only, answered at once and never stored (CREATE_ONLY).
    ResourceInfo("tokenreviews", "TokenReview", "authentication.k8s.io", "v1", False, verbs=CREATE_ONLY),
    ResourceInfo(
        "selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io", "v1", False, verbs=CREATE_ONLY
    ),
    ResourceInfo(
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        "authorization.k8s.io",
        "v1",
        True,
        verbs=CREATE_ONLY,
    ),
    ResourceInfo(
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
        "v1",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceInfo(
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        "authorization.k8s.io",
        "v1",
        False,
        verbs=CREATE_ONLY,
    ),
    ResourceInfo(
        "subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io", "v1", False, verbs=CREATE_ONLY
    ),
)

# The first entry of a group wins: its preferred (storage) version, where a group serves two.
_BY_RESOURCE = {(r.group, r.resource): r for r in reversed(RESOURCES)}
_BY_KIND = {(r.group, r.kind): r for r in reversed(RESOURCES)}


def groups() -> list[tuple[str, str]]:
    """(group, version) pairs in discovery order, core first."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def by_resource(group: str, resource: str) -> ResourceInfo | None:
    return _BY_RESOURCE.get((group, resource))


def must_resource(group: str, resource: str) -> ResourceInfo:
    """`by_resource` for a resource the caller knows is in the table (module-level constants); LookupError if not."""
    info = by_resource(group, resource)
    if info is None:
        raise LookupError(f"resource {resource!r} of group {group!r} is not in apimachinery.resources")
    return info


def by_kind(api_version: str, kind: str) -> ResourceInfo | None:
    group = api_version.rpartition("/")[0]
    return _BY_KIND.get((group, kind))


def resolve(name: str) -> ResourceInfo | None:
    """What a user typed (`po`, `pod`, `pods`, `Pod`, `deploy`, `deployments.apps`) to a resource, or None."""
    lowered = name.lower()
    base, _, group = lowered.partition(".")
    for r in RESOURCES:
        if group and r.group != group and not r.group.startswith(group):
            continue
        if base in (r.resource, r.singular, r.kind.lower()) or base in r.short_names:
            return r
    return None

"""Defaulting: fill in what the API server fills in before it validates and stores an object.

`apply_defaults(obj)` picks the rules by apiVersion/kind and mutates the dict in place (and returns it). The rules
follow Kubernetes' `pkg/apis/core/v1/defaults.go`, `pkg/apis/apps/v1/defaults.go` and the declarative defaults of
the v1 types, plus the `DefaultTolerationSeconds` admission plugin for pods and the parts of the create strategies
that read as defaults (a new pod is `Pending`, a namespace carries the `kubernetes` finalizer). Defaulting never
overwrites a value the client set, so applying it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery import workload_defaults
from apimachinery.validation import apiregistration as apiregistration_validation
from apimachinery.validation import autoscaling as autoscaling_validation
from apimachinery.validation import parse_quantity
from apimachinery.validation import storage as storage_validation

Obj = dict[str, Any]

DEFAULT_TOLERATION_SECONDS = 300
"""tolerationSeconds of the not-ready/unreachable tolerations added to every pod (kube-apiserver's
`--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`)."""

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def set_default_toleration_seconds(seconds: int) -> None:
    """Change the tolerationSeconds that new pods get (the apiserver calls this from its flags)."""
    global DEFAULT_TOLERATION_SECONDS
    DEFAULT_TOLERATION_SECONDS = int(seconds)


def apply_defaults(obj: Obj) -> Obj:
    """Default `obj` in place by its apiVersion/kind and return it; unknown kinds are returned unchanged."""
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    defaulter = _DEFAULTERS.get((group, str(obj.get("kind") or "")))
    if defaulter is not None:
        defaulter(obj)
    return obj


def _default(parent: Obj, key: str, value: Any, *, zero_unset: bool = False) -> None:
    """Set `parent[key]` when it is unset: missing, null or "" (Go's zero value for the string fields defaulted
    here), and with `zero_unset` also 0 (for the non-pointer integers of probes)."""
    current = parent.get(key)
    if current is None or current == "" or (zero_unset and current == 0 and current is not False):
        parent[key] = value


def _sub(parent: Obj, key: str) -> Obj:
    """`parent[key]` as a dict, created when missing (a non-dict value is left alone and a fresh dict returned)."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[Obj]:
    """The dict items of a list (defaulting tolerates malformed input; validation reports it)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def image_tag(image: str) -> str:
    """The tag of an image reference: "" for a digest reference, "latest" when none is given (like docker)."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.rpartition(":")[2] if ":" in last else "latest"


# --- pods -----------------------------------------------------------------------------------------------------


def _default_probe(probe: Obj) -> None:
    _default(probe, "timeoutSeconds", 1, zero_unset=True)
    _default(probe, "periodSeconds", 10, zero_unset=True)
    _default(probe, "successThreshold", 1, zero_unset=True)
    _default(probe, "failureThreshold", 3, zero_unset=True)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        _default(http_get, "path", "/")
        _default(http_get, "scheme", "HTTP")


def _default_container(container: Obj) -> None:
    if not container.get("imagePullPolicy"):
        tag = image_tag(str(container.get("image") or ""))
        container["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    _default(container, "terminationMessagePath", "/dev/termination-log")
    _default(container, "terminationMessagePolicy", "File")
    _sub(container, "resources")
    for port in _dicts(container.get("ports")):
        _default(port, "protocol", "TCP")
    for env in _dicts(container.get("env")):
        field_ref = (
            (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env.get("valueFrom"), dict) else None
        )
        if isinstance(field_ref, dict):
            _default(field_ref, "apiVersion", "v1")
    for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_key)
        if isinstance(probe, dict):
            _default_probe(probe)


def default_pod_spec(spec: Obj) -> None:
    """The PodSpec defaults shared by pods and pod templates."""
    _default(spec, "restartPolicy", "Always")
    _default(spec, "dnsPolicy", "ClusterFirst")
    _default(spec, "schedulerName", "default-scheduler")
    _default(spec, "terminationGracePeriodSeconds", 30)
    _default(spec, "securityContext", {})
    for container in _dicts(spec.get("initContainers")) + _dicts(spec.get("containers")):
        _default_container(container)
    for volume in _dicts(spec.get("volumes")):
        sources = [k for k in volume if k != "name"]
        if not sources:
            volume["emptyDir"] = {}
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict):
            _default(host_path, "type", "")  # HostPathUnset: no check before mounting


def _dict_at(parent: Obj, key: str) -> Obj:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' cpu/memory requests and limits."""
    containers = _dicts(spec.get("initContainers")) + _dicts(spec.get("containers"))
    any_set = False
    guaranteed = True
    for container in containers:
        resources = _dict_at(container, "resources")
        requests, limits = _dict_at(resources, "requests"), _dict_at(resources, "limits")
        for name in ("cpu", "memory"):
            if name in requests or name in limits:
                any_set = True
            if name not in limits or not _same_quantity(requests.get(name, limits[name]), limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _same_quantity(a: Any, b: Any) -> bool:
    try:
        return parse_quantity(a) == parse_quantity(b)
    except ValueError:
        return str(a) == str(b)


def _default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds admission: tolerate not-ready/unreachable nodes for a while, unless told."""
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = spec["tolerations"] = []
    if not isinstance(tolerations, list):
        return
    keys = {str(t.get("key")) for t in _dicts(tolerations)}
    # A toleration with an empty key and operator Exists tolerates every taint, as Kubernetes checks.
    tolerates_all = any(not t.get("key") and t.get("operator") == "Exists" for t in _dicts(tolerations))
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if key not in keys and not tolerates_all:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )


def _default_pod(pod: Obj) -> None:
    spec = _sub(pod, "spec")
    default_pod_spec(spec)
    _default(spec, "enableServiceLinks", True)
    # Pod (not template) only: requests default to limits, so a limit alone also reserves that much.
    for container in _dicts(spec.get("initContainers")) + _dicts(spec.get("containers")):
        resources = container.get("resources")
        if isinstance(resources, dict) and isinstance(resources.get("limits"), dict) and resources["limits"]:
            requests = _sub(resources, "requests")
            for name, value in resources["limits"].items():
                _default(requests, name, value)
    _default_tolerations(spec)
    status = _sub(pod, "status")
    _default(status, "phase", "Pending")
    _default(status, "qosClass", qos_class(spec))


def _default_template(owner: Obj) -> None:
    template = _sub(_sub(owner, "spec"), "template")
    default_pod_spec(_sub(template, "spec"))


# --- apps -----------------------------------------------------------------------------------------------------


def _default_deployment(deployment: Obj) -> None:
    spec = _sub(deployment, "spec")
    _default(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", "25%")
        _default(rolling, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)
    _default_template(deployment)


def _default_replicaset(replicaset: Obj) -> None:
    _default(_sub(replicaset, "spec"), "replicas", 1)
    _default_template(replicaset)


# --- the rest of core/v1 --------------------------------------------------------------------------------------


def _default_service(service: Obj) -> None:
    spec = _sub(service, "spec")
    _default(spec, "type", "ClusterIP")
    _default(spec, "sessionAffinity", "None")
    if spec.get("sessionAffinity") == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec.get("sessionAffinity") == "ClientIP":
        client_ip = _sub(_sub(spec, "sessionAffinityConfig"), "clientIP")
        _default(client_ip, "timeoutSeconds", 10800)
    for port in _dicts(spec.get("ports")):
        _default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    service_type = spec.get("type")
    if service_type in ("NodePort", "LoadBalancer"):
        _default(spec, "externalTrafficPolicy", "Cluster")
    if service_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _default(spec, "internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        _default(spec, "allocateLoadBalancerNodePorts", True)
    _sub(_sub(service, "status"), "loadBalancer")


def _default_namespace(namespace: Obj) -> None:
    metadata = _sub(namespace, "metadata")
    name = metadata.get("name")
    if name:
        # Kubernetes labels every namespace with its own name, so selectors can pick namespaces by name.
        _sub(metadata, "labels")["kubernetes.io/metadata.name"] = name
    _default(_sub(namespace, "spec"), "finalizers", ["kubernetes"])
    _default(_sub(namespace, "status"), "phase", "Active")


def _default_node(node: Obj) -> None:
    _sub(node, "spec")
    status = node.get("status")
    if (
        isinstance(status, dict)
        and isinstance(status.get("capacity"), dict)
        and status.get("allocatable") is None
    ):
        status["allocatable"] = dict(status["capacity"])


def _default_event(event: Obj) -> None:
    if event.get("count") is None:
        event["count"] = 1


def _default_endpoints(endpoints: Obj) -> None:
    for subset in _dicts(endpoints.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _default(port, "protocol", "TCP")


def _default_endpoint_slice(slice_: Obj) -> None:
    # SetDefaults_EndpointPort (discovery/v1): an unnamed port is named "", the protocol is TCP.
    for port in _dicts(slice_.get("ports")):
        _default(port, "name", "")
        _default(port, "protocol", "TCP")


def _default_lease(lease: Obj) -> None:
    _sub(lease, "spec")


def _default_network_policy(policy: Obj) -> None:
    # SetDefaults_NetworkPolicy and _NetworkPolicyPort (networking/v1), and what Go's non-pointer podSelector
    # reads back as: ports are TCP unless they say otherwise; without policyTypes a policy is about Ingress,
    # and about Egress too when it has egress rules.
    spec = _sub(policy, "spec")
    _sub(spec, "podSelector")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                _default(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", *(["Egress"] if spec.get("egress") else [])]


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): _default_pod,
    ("", "Service"): _default_service,
    ("", "Namespace"): _default_namespace,
    ("", "Node"): _default_node,
    ("", "Event"): _default_event,
    ("", "Endpoints"): _default_endpoints,
    ("apps", "Deployment"): _default_deployment,
    ("apps", "ReplicaSet"): _default_replicaset,
    ("coordination.k8s.io", "Lease"): _default_lease,
    ("discovery.k8s.io", "EndpointSlice"): _default_endpoint_slice,
    ("networking.k8s.io", "NetworkPolicy"): _default_network_policy,
}
_DEFAULTERS.update(workload_defaults.defaulters(default_pod_spec))
_DEFAULTERS.update(storage_validation.DEFAULTERS)
_DEFAULTERS.update(autoscaling_validation.DEFAULTERS)
_DEFAULTERS.update(apiregistration_validation.DEFAULTERS)

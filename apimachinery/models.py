"""Typed views of the Kubernetes objects kubelite serves (pydantic v2).

Objects travel as plain JSON dicts everywhere; these models are for code that wants typed access. Every model
accepts and keeps fields it does not declare (`extra="allow"`), and field names map to the wire's camelCase, so
`to_dict(parse(Pod, d))` gives back what a client wrote (minus `null` values, which Kubernetes treats as absent).

    parse(Pod, obj) -> Pod          to_dict(pod) -> dict          parse_object(obj) -> model picked by `kind`

Timestamps stay RFC 3339 strings as on the wire ("2026-11-27T08:17:33Z"); `now_rfc3339()` and `format_time()`
make one, `parse_time()` (strict) and `parse_time_or_none()` (lenient) read one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Quantity = str | int | float  # "100m", "128Mi", or a bare YAML number
IntOrString = int | str


def format_time(t: datetime, micro: bool = False) -> str:
    """`t` in UTC as Kubernetes writes a `Time` ("...:33Z") or, with `micro`, a `MicroTime` ("...:33.250000Z")."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339(micro: bool = False) -> str:
    """The current UTC time as Kubernetes writes a `Time` ("...:33Z") or, with `micro`, a `MicroTime`."""
    return format_time(datetime.now(UTC), micro)


def parse_time(value: str) -> datetime:
    """An aware datetime from an RFC 3339 string ("Z" or an offset, optional fraction). ValueError if malformed."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed


def parse_time_or_none(value: str | None) -> datetime | None:
    """`parse_time`, but None for an absent, empty or malformed timestamp (for fields a reader may skip)."""
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


class KubeModel(BaseModel):
    """Base of every model: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)


M = TypeVar("M", bound=BaseModel)


def parse(kind_cls: type[M], obj: dict[str, Any]) -> M:
    """Validate a wire dict into `kind_cls` (pydantic.ValidationError if a declared field has the wrong type)."""
    return kind_cls.model_validate(obj)


def to_dict(model: BaseModel) -> dict[str, Any]:
    """The wire form: camelCase keys, `None` fields left out, unknown fields kept."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


# --- meta/v1 ---------------------------------------------------------------------------------------------------


class OwnerReference(KubeModel):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(KubeModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None


class ListMeta(KubeModel):
    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = None


class StatusCause(KubeModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(KubeModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retry_after_seconds: int | None = None


class Status(KubeModel):
    api_version: str = "v1"
    kind: str = "Status"
    metadata: ListMeta = Field(default_factory=ListMeta)
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(KubeModel):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class ObjectReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class Condition(KubeModel):
    """The common condition shape (pods, nodes, deployments); the type-specific timestamps are optional."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None
    last_probe_time: str | None = None
    last_heartbeat_time: str | None = None
    last_update_time: str | None = None


PodCondition = Condition
NodeCondition = Condition
DeploymentCondition = Condition
ReplicaSetCondition = Condition


# --- core/v1: Namespace ---------------------------------------------------------------------------------------


class NamespaceSpec(KubeModel):
    finalizers: list[str] | None = None


class NamespaceStatus(KubeModel):
    phase: str | None = None
    conditions: list[Condition] | None = None


class Namespace(KubeModel):
    api_version: str = "v1"
    kind: str = "Namespace"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)
    status: NamespaceStatus = Field(default_factory=NamespaceStatus)


# --- core/v1: Pod ---------------------------------------------------------------------------------------------


class ContainerPort(KubeModel):
    container_port: int
    name: str | None = None
    protocol: str | None = None
    host_port: int | None = None
    host_ip: str | None = Field(default=None, alias="hostIP")


class ObjectFieldSelector(KubeModel):
    field_path: str
    api_version: str | None = None


class EnvVarSource(KubeModel):
    field_ref: ObjectFieldSelector | None = None


class EnvVar(KubeModel):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class VolumeMount(KubeModel):
    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None


class EmptyDirVolumeSource(KubeModel):
    medium: str | None = None
    size_limit: Quantity | None = None


class HostPathVolumeSource(KubeModel):
    path: str
    type: str | None = None


class Volume(KubeModel):
    name: str
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None


class ExecAction(KubeModel):
    command: list[str] | None = None


class HTTPHeader(KubeModel):
    name: str
    value: str


class HTTPGetAction(KubeModel):
    port: IntOrString
    path: str | None = None
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(KubeModel):
    port: IntOrString
    host: str | None = None


class Probe(KubeModel):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


class ResourceRequirements(KubeModel):
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None


class Container(KubeModel):
    name: str
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    ports: list[ContainerPort] | None = None
    env: list[EnvVar] | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[VolumeMount] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    image_pull_policy: str | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    security_context: dict[str, Any] | None = None
    stdin: bool | None = None
    tty: bool | None = None


class Toleration(KubeModel):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class PodSpec(KubeModel):
    containers: list[Container] = Field(default_factory=list)
    init_containers: list[Container] | None = None
    volumes: list[Volume] | None = None
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    node_selector: dict[str, str] | None = None
    service_account_name: str | None = None
    node_name: str | None = None
    host_network: bool | None = None
    security_context: dict[str, Any] | None = None
    hostname: str | None = None
    subdomain: str | None = None
    affinity: dict[str, Any] | None = None  # kept loose: the scheduler reads what it needs from the dict
    scheduler_name: str | None = None
    tolerations: list[Toleration] | None = None
    priority: int | None = None
    enable_service_links: bool | None = None


class ContainerStateWaiting(KubeModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(KubeModel):
    started_at: str | None = None


class ContainerStateTerminated(KubeModel):
    exit_code: int = 0
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = Field(default=None, alias="containerID")


class ContainerState(KubeModel):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(KubeModel):
    name: str
    ready: bool = False
    restart_count: int = 0
    image: str = ""
    image_id: str = Field(default="", alias="imageID")
    container_id: str | None = Field(default=None, alias="containerID")
    started: bool | None = None
    state: ContainerState | None = None
    last_state: ContainerState | None = None


class PodIP(KubeModel):
    ip: str


class PodStatus(KubeModel):
    phase: str | None = None
    conditions: list[Condition] | None = None
    message: str | None = None
    reason: str | None = None
    host_ip: str | None = Field(default=None, alias="hostIP")
    host_ips: list[PodIP] | None = Field(default=None, alias="hostIPs")
    pod_ip: str | None = Field(default=None, alias="podIP")
    pod_ips: list[PodIP] | None = Field(default=None, alias="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = None


class Pod(KubeModel):
    api_version: str = "v1"
    kind: str = "Pod"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)
    status: PodStatus = Field(default_factory=PodStatus)


class PodTemplateSpec(KubeModel):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)


class Binding(KubeModel):
    api_version: str = "v1"
    kind: str = "Binding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    target: ObjectReference = Field(default_factory=ObjectReference)


# --- core/v1: Node --------------------------------------------------------------------------------------------


class Taint(KubeModel):
    key: str
    effect: str
    value: str | None = None
    time_added: str | None = None


class NodeSpec(KubeModel):
    pod_cidr: str | None = Field(default=None, alias="podCIDR")
    pod_cidrs: list[str] | None = Field(default=None, alias="podCIDRs")
    provider_id: str | None = Field(default=None, alias="providerID")
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeAddress(KubeModel):
    type: str
    address: str


class NodeSystemInfo(KubeModel):
    machine_id: str = Field(default="", alias="machineID")
    system_uuid: str = Field(default="", alias="systemUUID")
    boot_id: str = Field(default="", alias="bootID")
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""


class DaemonEndpoint(KubeModel):
    port: int = Field(default=0, alias="Port")  # the one capitalised field in the core API


class NodeDaemonEndpoints(KubeModel):
    kubelet_endpoint: DaemonEndpoint | None = None


class NodeStatus(KubeModel):
    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    phase: str | None = None
    conditions: list[Condition] | None = None
    addresses: list[NodeAddress] | None = None
    daemon_endpoints: NodeDaemonEndpoints | None = None
    node_info: NodeSystemInfo | None = None
    images: list[dict[str, Any]] | None = None


class Node(KubeModel):
    api_version: str = "v1"
    kind: str = "Node"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NodeSpec = Field(default_factory=NodeSpec)
    status: NodeStatus = Field(default_factory=NodeStatus)


# --- core/v1: Service, Endpoints ------------------------------------------------------------------------------


class ServicePort(KubeModel):
    port: int
    name: str | None = None
    protocol: str | None = None
    target_port: IntOrString | None = None
    node_port: int | None = None
    app_protocol: str | None = None


class ServiceSpec(KubeModel):
    type: str | None = None
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs")
    external_ips: list[str] | None = Field(default=None, alias="externalIPs")
    external_name: str | None = None
    load_balancer_ip: str | None = Field(default=None, alias="loadBalancerIP")
    session_affinity: str | None = None
    external_traffic_policy: str | None = None
    internal_traffic_policy: str | None = None
    ip_families: list[str] | None = None
    ip_family_policy: str | None = None
    publish_not_ready_addresses: bool | None = None
    allocate_load_balancer_node_ports: bool | None = None


class LoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None


class LoadBalancerStatus(KubeModel):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(KubeModel):
    load_balancer: LoadBalancerStatus = Field(default_factory=LoadBalancerStatus)
    conditions: list[Condition] | None = None


class Service(KubeModel):
    api_version: str = "v1"
    kind: str = "Service"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    status: ServiceStatus = Field(default_factory=ServiceStatus)


class EndpointAddress(KubeModel):
    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(KubeModel):
    port: int
    name: str | None = None
    protocol: str | None = None
    app_protocol: str | None = None


class EndpointSubset(KubeModel):
    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(KubeModel):
    api_version: str = "v1"
    kind: str = "Endpoints"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subsets: list[EndpointSubset] | None = None


# --- core/v1: Event -------------------------------------------------------------------------------------------


class EventSource(KubeModel):
    component: str | None = None
    host: str | None = None


class Event(KubeModel):
    api_version: str = "v1"
    kind: str = "Event"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    involved_object: ObjectReference = Field(default_factory=ObjectReference)
    reason: str | None = None
    message: str | None = None
    type: str | None = None
    source: EventSource | None = None
    count: int | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    event_time: str | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None
    action: str | None = None


# --- apps/v1 --------------------------------------------------------------------------------------------------


class RollingUpdateDeployment(KubeModel):
    max_surge: IntOrString | None = None
    max_unavailable: IntOrString | None = None


class DeploymentStrategy(KubeModel):
    type: str | None = None
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(KubeModel):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: int | None = None
    revision_history_limit: int | None = None
    paused: bool | None = None
    progress_deadline_seconds: int | None = None


class DeploymentStatus(KubeModel):
    observed_generation: int | None = None
    replicas: int | None = None
    updated_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    unavailable_replicas: int | None = None
    conditions: list[Condition] | None = None
    collision_count: int | None = None


class Deployment(KubeModel):
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DeploymentSpec = Field(default_factory=DeploymentSpec)
    status: DeploymentStatus = Field(default_factory=DeploymentStatus)


class ReplicaSetSpec(KubeModel):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    min_ready_seconds: int | None = None


class ReplicaSetStatus(KubeModel):
    replicas: int = 0
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    observed_generation: int | None = None
    conditions: list[Condition] | None = None


class ReplicaSet(KubeModel):
    api_version: str = "apps/v1"
    kind: str = "ReplicaSet"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec = Field(default_factory=ReplicaSetSpec)
    status: ReplicaSetStatus = Field(default_factory=ReplicaSetStatus)


# --- coordination.k8s.io/v1 -----------------------------------------------------------------------------------


class LeaseSpec(KubeModel):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None


class Lease(KubeModel):
    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: LeaseSpec = Field(default_factory=LeaseSpec)


KINDS: dict[str, type[KubeModel]] = {
    cls.__name__: cls
    for cls in (
        Namespace,
        Pod,
        Binding,
        Node,
        Service,
        Endpoints,
        Event,
        Deployment,
        ReplicaSet,
        Lease,
        Status,
    )
}


def parse_object(obj: dict[str, Any]) -> KubeModel:
    """The model for `obj["kind"]`; an unknown kind gives a bare `KubeModel` that keeps every field."""
    return parse(KINDS.get(str(obj.get("kind")), KubeModel), obj)

"""The schemas of the OpenAPI v3 documents (`apiserver.openapi`), in a compact text notation.

One schema per block: a header `<package> <Name>[ @<group>/<version>]: <description>` (a group version marks a
top-level kind), then its fields, one a line: `<name>[!] <type> <description>`, where a `!` after the name marks a
required field and the type is `string`, `integer`, `int64`, `boolean`, `number`, `map` (string to string),
`object` (free form), `resources` (name to Quantity), `[]T` for arrays, or a schema name (`PodSpec`, `Time`,
`Quantity`, ...); `+object` stands for apiVersion, kind and metadata. Descriptions are what `kubectl explain`
prints.
"""

SCHEMA_TEXT = """
meta ObjectMeta: Metadata that all persisted resources must have.
  name string Name must be unique within a namespace. Cannot be updated.
  generateName string Optional prefix used by the server to generate a unique name if name is not provided.
  namespace string The namespace of the object; an empty namespace is the default namespace.
  selfLink string Deprecated and unused upstream; never set.
  uid string A unique identifier of the object, set by the server. Read-only.
  resourceVersion string An opaque value for optimistic concurrency and watches. Read-only.
  generation int64 A sequence number of the desired state, bumped on spec changes. Read-only.
  creationTimestamp Time When the object was created, set by the server. Read-only.
  deletionTimestamp Time When the object will be deleted; set by the server on a graceful delete. Read-only.
  deletionGracePeriodSeconds int64 Seconds allowed for graceful termination before removal. Read-only.
  labels map String keys and values used to organize and select objects.
  annotations map Unstructured keys and values set by tools to store arbitrary metadata.
  ownerReferences []OwnerReference Objects this object depends on; it is garbage collected when all are gone.
  finalizers []string Entries that must be empty before the object is deleted from storage.
  managedFields []object Field ownership of server-side apply. Not tracked by kubelite.
meta ListMeta: Metadata that synthetic resources such as lists have.
  resourceVersion string The storage revision of the read that produced this list.
  continue string Set when more items are available; pass it back to get the next page.
  remainingItemCount int64 The number of items after this page, when known.
meta OwnerReference: Enough information to identify an owning object in the same namespace.
  apiVersion! string API version of the referent.
  kind! string Kind of the referent.
  name! string Name of the referent.
  uid! string UID of the referent.
  controller boolean True if the referent is the managing controller.
  blockOwnerDeletion boolean If true, the owner cannot be deleted before this object in foreground deletion.
meta LabelSelector: A label query over a set of resources; the requirements are ANDed.
  matchLabels map Equality requirements: each key must have the given value.
  matchExpressions []LabelSelectorRequirement Set-based requirements.
meta LabelSelectorRequirement: A selector requirement: a key, an operator and values.
  key! string The label key that the selector applies to.
  operator! string One of In, NotIn, Exists and DoesNotExist.
  values []string Values for In and NotIn; must be empty for Exists and DoesNotExist.
core PodTemplateSpec: The description of a pod to create from a template.
  metadata ObjectMeta Standard object's metadata.
  spec PodSpec Specification of the desired behavior of the pod.
core PodSpec: The description of a pod.
  containers! []Container The containers of the pod. There must be at least one.
  initContainers []Container Containers run in order before the app containers start.
  ephemeralContainers []object Debugging containers added to a running pod.
  volumes []Volume Volumes that the containers of the pod can mount.
  restartPolicy string Always, OnFailure or Never. Default: Always.
  terminationGracePeriodSeconds int64 Seconds between SIGTERM and SIGKILL. Default: 30.
  activeDeadlineSeconds int64 Seconds the pod may be active before it is failed.
  dnsPolicy string ClusterFirst, ClusterFirstWithHostNet, Default or None.
  nodeSelector map Labels a node must have for the pod to be scheduled there.
  serviceAccountName string The service account to run the pod as.
  automountServiceAccountToken boolean Whether to mount the service account token.
  nodeName string The node the pod is bound to; set by the scheduler.
  hostNetwork boolean Use the host's network namespace.
  hostPID boolean Use the host's PID namespace.
  hostIPC boolean Use the host's IPC namespace.
  hostname string The hostname of the pod. Default: the pod name.
  subdomain string The subdomain of the pod's fully qualified hostname.
  affinity object Node, pod and anti-pod affinity scheduling constraints.
  schedulerName string The scheduler that schedules the pod.
  tolerations []Toleration Taints that the pod tolerates.
  hostAliases []HostAlias Entries added to the pod's /etc/hosts.
  priorityClassName string The priority class of the pod.
  priority integer The priority of the pod, resolved from priorityClassName.
  readinessGates []PodReadinessGate Extra conditions that must be true for the pod to be ready.
  imagePullSecrets []LocalObjectReference Secrets used to pull the images.
  securityContext object Pod-level security attributes.
  topologySpreadConstraints []object How pods spread across topology domains.
  serviceAccount string Deprecated alias of serviceAccountName.
  shareProcessNamespace boolean Share one process namespace between the containers of the pod.
  dnsConfig object DNS parameters of the pod, merged with those of dnsPolicy.
  runtimeClassName string The RuntimeClass to run the pod with.
  enableServiceLinks boolean Inject service information into environment variables. Default: true.
  preemptionPolicy string Never or PreemptLowerPriority.
  overhead resources Resource overhead of the pod's sandbox.
  setHostnameAsFQDN boolean Use the fully qualified domain name as the hostname.
  os object The operating system of the containers.
  hostUsers boolean Use the host's user namespace. Default: true.
  schedulingGates []object Gates that block scheduling while present.
  resourceClaims []object Dynamically allocated resources of the pod.
  resources ResourceRequirements Pod-level compute resources.
core Container: A single application container of a pod.
  name! string Name of the container, unique in the pod (DNS label).
  image string Container image name.
  imagePullPolicy string Always, Never or IfNotPresent.
  command []string Entrypoint array, not run in a shell. Default: the image's ENTRYPOINT.
  args []string Arguments to the entrypoint. Default: the image's CMD.
  workingDir string Working directory of the container.
  ports []ContainerPort Ports to expose from the container.
  env []EnvVar Environment variables to set in the container.
  envFrom []EnvFromSource Sources to populate environment variables from.
  resources ResourceRequirements Compute resources required by the container.
  volumeMounts []VolumeMount Pod volumes to mount into the container's filesystem.
  livenessProbe Probe Periodic probe of container liveness; the container is restarted when it fails.
  readinessProbe Probe Periodic probe of container readiness; the pod leaves service endpoints when it fails.
  startupProbe Probe Probe that must succeed before the other probes start.
  lifecycle object Actions to take on container start and stop.
  terminationMessagePath string Path of the file the termination message is read from.
  terminationMessagePolicy string File or FallbackToLogsOnError.
  securityContext SecurityContext Container-level security options.
  restartPolicy string For init containers only: Always makes it a sidecar.
  stdin boolean Allocate a buffer for stdin.
  tty boolean Allocate a TTY.
  stdinOnce boolean Close stdin after the first attach session.
  resizePolicy []object How the container handles resource resizes.
  volumeDevices []object Block devices used by the container.
core ContainerPort: A network port of a container.
  containerPort! integer Port number on the pod's IP address.
  name string An IANA service name for the port, unique in the pod.
  protocol string UDP, TCP or SCTP. Default: TCP.
  hostPort integer Port number on the host.
  hostIP string Host IP to bind the host port to.
core EnvVar: An environment variable of a container.
  name! string Name of the variable.
  value string Value, with $(VAR_NAME) references expanded.
  valueFrom EnvVarSource Source of the value; cannot be used with value.
core EnvVarSource: A source for the value of an environment variable.
  fieldRef ObjectFieldSelector A field of the pod.
  configMapKeyRef KeySelector A key of a ConfigMap.
  secretKeyRef KeySelector A key of a Secret.
  resourceFieldRef object A resource of the container: limits.cpu, requests.memory, ...
core EnvFromSource: A source of a set of environment variables.
  prefix string A prefix prepended to every key.
  configMapRef object The ConfigMap to take variables from: name, optional.
  secretRef object The Secret to take variables from: name, optional.
core ObjectFieldSelector: Selects a field of an object.
  fieldPath! string Path of the field, e.g. metadata.name or status.podIP.
  apiVersion string Version of the schema the path is written in.
core KeySelector: Selects a key of a ConfigMap or Secret.
  name string Name of the referent.
  key! string The key to select.
  optional boolean Whether the referent or its key may be missing.
core LocalObjectReference: A reference to an object in the same namespace.
  name string Name of the referent.
core ResourceRequirements: Compute resource requirements.
  limits resources The maximum amount of compute resources allowed.
  requests resources The minimum amount of compute resources required.
  claims []object Names of resource claims the container uses.
core VolumeMount: The mounting of a volume within a container.
  name! string Name of the volume.
  mountPath! string Path within the container to mount the volume at.
  readOnly boolean Mount read-only.
  subPath string Path within the volume to mount instead of its root.
  subPathExpr string Like subPath, with $(VAR_NAME) references expanded.
  mountPropagation string None, HostToContainer or Bidirectional.
  recursiveReadOnly string Disabled, IfPossible or Enabled.
core Volume: A named volume of a pod that its containers may mount.
  name! string Name of the volume, unique in the pod (DNS label).
  emptyDir EmptyDirVolumeSource A temporary directory that shares the pod's lifetime.
  hostPath HostPathVolumeSource A file or directory on the host.
  configMap ConfigMapVolumeSource A ConfigMap's keys as files.
  secret SecretVolumeSource A Secret's keys as files.
  persistentVolumeClaim object A persistentVolumeClaim volume source.
  projected object A projected volume source.
  downwardAPI object A downwardAPI volume source.
  nfs object A nfs volume source.
  csi object A csi volume source.
  ephemeral object A ephemeral volume source.
  image object A image volume source.
  iscsi object A iscsi volume source.
  gcePersistentDisk object A gcePersistentDisk volume source.
  awsElasticBlockStore object A awsElasticBlockStore volume source.
  gitRepo object A gitRepo volume source.
  glusterfs object A glusterfs volume source.
  rbd object A rbd volume source.
  flexVolume object A flexVolume volume source.
  cinder object A cinder volume source.
  cephfs object A cephfs volume source.
  flocker object A flocker volume source.
  fc object A fc volume source.
  azureFile object A azureFile volume source.
  vsphereVolume object A vsphereVolume volume source.
  quobyte object A quobyte volume source.
  azureDisk object A azureDisk volume source.
  photonPersistentDisk object A photonPersistentDisk volume source.
  portworxVolume object A portworxVolume volume source.
  scaleIO object A scaleIO volume source.
  storageos object A storageos volume source.
core EmptyDirVolumeSource: An empty directory for a pod.
  medium string Storage medium: "" (the node's default) or Memory.
  sizeLimit Quantity Total amount of local storage required.
core HostPathVolumeSource: A host path mapped into a pod.
  path! string Path of the directory or file on the host.
  type string Type of the host path: "", DirectoryOrCreate, Directory, FileOrCreate, File, ...
core ConfigMapVolumeSource: A ConfigMap projected into a volume.
  name string Name of the ConfigMap.
  items []KeyToPath Keys to project, and their paths; default: all keys.
  defaultMode integer Mode bits of the created files.
  optional boolean Whether the ConfigMap may be missing.
core SecretVolumeSource: A Secret projected into a volume.
  secretName string Name of the Secret.
  items []KeyToPath Keys to project, and their paths; default: all keys.
  defaultMode integer Mode bits of the created files.
  optional boolean Whether the Secret may be missing.
core KeyToPath: Maps a key to a path within a volume.
  key! string The key to project.
  path! string The relative path of the file to map the key to.
  mode integer Mode bits of the file.
core Probe: A health check performed against a container.
  exec ExecAction Run a command in the container; exit status 0 is healthy.
  httpGet HTTPGetAction An HTTP GET; a status from 200 to 399 is healthy.
  tcpSocket TCPSocketAction A TCP connection; an open port is healthy.
  grpc object A gRPC health check.
  initialDelaySeconds integer Seconds after the container started before probes start.
  periodSeconds integer How often (in seconds) to probe. Default: 10.
  timeoutSeconds integer Seconds after which the probe times out. Default: 1.
  successThreshold integer Consecutive successes to be considered healthy after a failure. Default: 1.
  failureThreshold integer Consecutive failures to be considered unhealthy. Default: 3.
  terminationGracePeriodSeconds int64 Grace period when the probe fails and the container is killed.
core ExecAction: A command to execute.
  command []string Command line to run, not in a shell.
core HTTPGetAction: An HTTP GET request.
  path string Path to access on the HTTP server.
  port! IntOrString Name or number of the port to access.
  host string Host name to connect to; default: the pod IP.
  scheme string HTTP or HTTPS. Default: HTTP.
  httpHeaders []HTTPHeader Custom request headers.
core HTTPHeader: A custom HTTP header.
  name! string The header field name.
  value! string The header field value.
core TCPSocketAction: A TCP socket connection.
  port! IntOrString Name or number of the port to access.
  host string Host name to connect to; default: the pod IP.
core SecurityContext: Security options of a container.
  privileged boolean Run the container privileged.
  runAsUser int64 The UID to run the entrypoint as.
  runAsGroup int64 The GID to run the entrypoint as.
  runAsNonRoot boolean Require the container to run as a non-root user.
  readOnlyRootFilesystem boolean Mount the root filesystem read-only.
  allowPrivilegeEscalation boolean Whether a process can gain more privileges than its parent.
  capabilities object Capabilities to add and drop.
  seLinuxOptions object SELinux context of the container.
  windowsOptions object Windows-specific options.
  procMount string Default or Unmasked.
  seccompProfile object The seccomp profile of the container.
  appArmorProfile object The AppArmor profile of the container.
core Toleration: Lets a pod be scheduled onto nodes with a matching taint.
  key string The taint key to match; empty matches all keys.
  operator string Exists or Equal. Default: Equal.
  value string The taint value to match.
  effect string The taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
  tolerationSeconds int64 How long a NoExecute taint is tolerated.
core HostAlias: An entry of the pod's /etc/hosts.
  ip! string IP address of the entry.
  hostnames []string Hostnames for the IP address.
core PodReadinessGate: A pod condition that must be true for the pod to be ready.
  conditionType! string The type of a condition in the pod's condition list.
core PodStatus: The most recently observed status of a pod.
  phase string Pending, Running, Succeeded, Failed or Unknown.
  conditions []PodCondition Current service state of the pod.
  message string A human readable message about why the pod is in this condition.
  reason string A brief CamelCase reason, e.g. Evicted.
  hostIP string IP address of the host the pod is running on.
  podIP string IP address allocated to the pod.
  podIPs []PodIP IP addresses allocated to the pod.
  startTime Time When the kubelet acknowledged the pod.
  initContainerStatuses []ContainerStatus Statuses of the init containers.
  containerStatuses []ContainerStatus Statuses of the containers.
  qosClass string Quality of service class: Guaranteed, Burstable or BestEffort.
  nominatedNodeName string Set when the pod preempts pods on this node.
  hostIPs []PodIP IP addresses of the host the pod is running on.
  ephemeralContainerStatuses []ContainerStatus Statuses of the ephemeral containers.
  resize string Status of a requested resize of the pod's resources.
  resourceClaimStatuses []object Status of the pod's resource claims.
  observedGeneration int64 The pod generation this status reflects.
core PodIP: An IP address allocated to a pod.
  ip! string The IP address.
core PodCondition: The state of one aspect of a pod.
  type! string Type of the condition, e.g. Ready, PodScheduled, Initialized, ContainersReady.
  observedGeneration int64 The pod generation this condition reflects.
  status! string True, False or Unknown.
  reason string A brief CamelCase reason for the last transition.
  message string A human readable message about the last transition.
  lastProbeTime Time The last time the condition was probed.
  lastTransitionTime Time The last time the condition changed status.
core ContainerStatus: The status of one container of a pod.
  name! string Name of the container.
  image! string The image the container is running.
  imageID! string The image ID of the container's image.
  containerID string The container's ID, as <type>://<id>.
  ready! boolean Whether the container passes its readiness probe.
  started boolean Whether the container passed its startup probe.
  restartCount! integer The number of times the container has been restarted.
  state ContainerState The current state of the container.
  lastState ContainerState The last termination of the container.
  allocatedResources resources Resources allocated to the container.
  resources ResourceRequirements Resources configured for the running container.
  volumeMounts []object Mounts of the running container.
  user object Identity of the container's process.
  allocatedResourcesStatus []object Health of allocated resources.
  stopSignal string The signal that stops the container.
core ContainerState: The state of a container: one of waiting, running and terminated.
  waiting ContainerStateWaiting Details of a waiting container.
  running ContainerStateRunning Details of a running container.
  terminated ContainerStateTerminated Details of a terminated container.
core ContainerStateWaiting: A container that is waiting.
  reason string Why the container is not yet running, e.g. ContainerCreating or CrashLoopBackOff.
  message string Details of the reason.
core ContainerStateRunning: A container that is running.
  startedAt Time When the container was last (re)started.
core ContainerStateTerminated: A container that has terminated.
  exitCode! integer Exit status of the last termination.
  signal integer Signal of the last termination.
  reason string A brief reason, e.g. Completed or Error.
  message string Details of the termination.
  startedAt Time When the container's last execution started.
  finishedAt Time When the container's last execution finished.
  containerID string The container's ID, as <type>://<id>.
core ServiceSpec: The attributes a user creates on a service.
  ports []ServicePort The ports the service exposes.
  selector map Pods with these labels receive the service's traffic.
  clusterIP string The virtual IP of the service, allocated by the server; None for a headless service.
  clusterIPs []string The virtual IPs of the service; the first equals clusterIP.
  type string ClusterIP, NodePort, LoadBalancer or ExternalName. Default: ClusterIP.
  externalIPs []string IP addresses for which nodes also accept traffic for this service.
  externalName string The DNS name an ExternalName service aliases.
  sessionAffinity string ClientIP or None. Default: None.
  loadBalancerIP string Requested load balancer IP (deprecated upstream).
  externalTrafficPolicy string Cluster or Local.
  internalTrafficPolicy string Cluster or Local.
  ipFamilies []string IP families of the service.
  ipFamilyPolicy string SingleStack, PreferDualStack or RequireDualStack.
  publishNotReadyAddresses boolean Publish endpoints of pods that are not ready.
  loadBalancerSourceRanges []string Client IP ranges allowed through the load balancer.
  healthCheckNodePort integer Health check node port for externalTrafficPolicy Local.
  sessionAffinityConfig object Configuration of session affinity.
  allocateLoadBalancerNodePorts boolean Allocate node ports for a LoadBalancer service. Default: true.
  loadBalancerClass string The class of the load balancer implementation.
  trafficDistribution string How traffic is distributed to endpoints, e.g. PreferClose.
core ServicePort: A port of a service.
  name string Name of the port, required when there are several.
  protocol string TCP, UDP or SCTP. Default: TCP.
  port! integer The port the service exposes.
  targetPort IntOrString Number or name of the port on the pods. Default: the value of port.
  nodePort integer The port on each node for NodePort and LoadBalancer services, allocated by the server.
  appProtocol string The application protocol of the port.
core ServiceStatus: The current status of a service.
  loadBalancer LoadBalancerStatus The status of the load balancer, if any.
  conditions []object Current service state.
core LoadBalancerStatus: The status of a load balancer.
  ingress []LoadBalancerIngress Ingress points of the load balancer.
core LoadBalancerIngress: An ingress point of a load balancer.
  ip string IP address of the ingress point.
  hostname string Host name of the ingress point.
  ipMode string VIP or Proxy.
  ports []object Port statuses of the ingress point.
core EndpointSubset: A group of addresses with a common set of ports.
  addresses []EndpointAddress Ready addresses.
  notReadyAddresses []EndpointAddress Addresses that are not ready.
  ports []EndpointPort Port numbers available on the addresses.
core EndpointAddress: A single IP address of an endpoint.
  ip! string The IP of the endpoint.
  hostname string The hostname of the endpoint.
  nodeName string The node hosting the endpoint.
  targetRef ObjectReference The object providing the endpoint, usually a pod.
core EndpointPort: A port of an endpoint.
  name string Name of the port, the name of the service port.
  port! integer The port number.
  protocol string TCP, UDP or SCTP. Default: TCP.
  appProtocol string The application protocol of the port.
core ObjectReference: A reference to an object.
  kind string Kind of the referent.
  namespace string Namespace of the referent.
  name string Name of the referent.
  uid string UID of the referent.
  apiVersion string API version of the referent.
  resourceVersion string The referent's resourceVersion this reference was made to.
  fieldPath string A part of the object, e.g. spec.containers{name}.
core NodeSpec: The attributes a node is created with.
  podCIDR string The pod IP range assigned to the node.
  podCIDRs []string The pod IP ranges assigned to the node.
  providerID string The node's ID from the cloud provider.
  unschedulable boolean Keep new pods off the node (cordon).
  taints []Taint Taints of the node.
  configSource object Deprecated upstream.
  externalID string Deprecated upstream.
core Taint: A taint: pods that do not tolerate it are kept off the node.
  key! string The taint key.
  value string The taint value.
  effect! string NoSchedule, PreferNoSchedule or NoExecute.
  timeAdded Time When a NoExecute taint was added.
core NodeStatus: The most recently observed status of a node.
  capacity resources Total resources of the node.
  allocatable resources Resources available for scheduling.
  phase string The lifecycle phase of the node (deprecated upstream).
  conditions []NodeCondition Current service state of the node, e.g. Ready.
  addresses []NodeAddress Addresses reachable to the node.
  daemonEndpoints object Endpoints of daemons on the node, e.g. the kubelet port.
  nodeInfo NodeSystemInfo General information about the node.
  images []object Container images on the node.
  volumesInUse []string Volumes in use on the node.
  volumesAttached []object Volumes attached to the node.
  config object Status of the node's dynamic configuration.
  runtimeHandlers []object Available runtime handlers.
  features object Features supported by the node's runtime.
core NodeCondition: The state of one aspect of a node.
  type! string Type of the condition, e.g. Ready, MemoryPressure, DiskPressure.
  status! string True, False or Unknown.
  lastHeartbeatTime Time The last time the condition was probed.
  lastTransitionTime Time The last time the condition changed status.
  reason string A brief CamelCase reason for the last transition.
  message string A human readable message about the last transition.
core NodeAddress: An address of a node.
  type! string Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.
  address! string The address.
core NodeSystemInfo: Identifiers and versions reported by a node.
  machineID! string The machine ID reported by the node.
  systemUUID! string The system UUID reported by the node.
  bootID! string The boot ID reported by the node.
  kernelVersion! string Kernel version reported by the node (uname -r).
  osImage! string OS image reported by the node from /etc/os-release.
  containerRuntimeVersion! string Container runtime version, as <runtime>://<version>.
  kubeletVersion! string Kubelet version reported by the node.
  kubeProxyVersion! string Kube-proxy version reported by the node (deprecated upstream).
  operatingSystem! string The operating system, e.g. linux.
  architecture! string The architecture, e.g. amd64.
  swap object Swap information of the node.
core NamespaceSpec: The attributes a namespace is created with.
  finalizers []string Values that must be empty before the namespace is removed from storage.
core NamespaceStatus: The current status of a namespace.
  phase string Active or Terminating.
  conditions []object Current state of the namespace.
core EventSource: The source of an event.
  component string The component the event comes from.
  host string The node the event was generated on.
core EventSeries: Data about a series of repeated events.
  count integer The number of occurrences in the series.
  lastObservedTime MicroTime When the last occurrence was observed.
apps DeploymentSpec: The desired behavior of a deployment.
  replicas integer Number of desired pods. Default: 1.
  selector! LabelSelector Label selector of the pods; must match the template's labels.
  template! PodTemplateSpec The template of the pods the deployment creates.
  strategy DeploymentStrategy How to replace existing pods with new ones.
  minReadySeconds integer Seconds a new pod must be ready to count as available.
  revisionHistoryLimit integer Old ReplicaSets to keep for rollback. Default: 10.
  paused boolean Whether the deployment is paused.
  progressDeadlineSeconds integer Seconds before a stalled rollout is reported as failed. Default: 600.
apps DeploymentStrategy: How to replace existing pods with new ones.
  type string Recreate or RollingUpdate. Default: RollingUpdate.
  rollingUpdate RollingUpdateDeployment Parameters of a RollingUpdate.
apps RollingUpdateDeployment: Parameters of a rolling update.
  maxUnavailable IntOrString Pods that may be unavailable during the update (number or %). Default: 25%.
  maxSurge IntOrString Pods that may be created above the desired number (number or percentage). Default: 25%.
apps DeploymentStatus: The most recently observed status of a deployment.
  observedGeneration int64 The generation observed by the deployment controller.
  replicas integer Total number of non-terminated pods targeted by the deployment.
  updatedReplicas integer Non-terminated pods that have the desired template.
  readyReplicas integer Pods targeted by the deployment that are ready.
  availableReplicas integer Pods that have been ready for at least minReadySeconds.
  unavailableReplicas integer Pods still required for the deployment to have 100% available capacity.
  conditions []DeploymentCondition Latest available observations of the deployment's state.
  collisionCount integer Count of hash collisions for the deployment.
  terminatingReplicas integer Pods of the deployment that are terminating.
apps DeploymentCondition: The state of a deployment at a point in time.
  type! string Available, Progressing or ReplicaFailure.
  status! string True, False or Unknown.
  lastUpdateTime Time The last time the condition was updated.
  lastTransitionTime Time The last time the condition changed status.
  reason string The reason for the last transition.
  message string A human readable message about the transition.
apps ReplicaSetSpec: The desired behavior of a ReplicaSet.
  replicas integer Number of desired pods. Default: 1.
  minReadySeconds integer Seconds a new pod must be ready to count as available.
  selector! LabelSelector Label selector of the pods; must match the template's labels.
  template PodTemplateSpec The template of the pods the ReplicaSet creates.
apps ReplicaSetStatus: The most recently observed status of a ReplicaSet.
  replicas! integer The most recently observed number of replicas.
  fullyLabeledReplicas integer Pods whose labels match the template's labels.
  readyReplicas integer Pods targeted by the ReplicaSet that are ready.
  availableReplicas integer Pods that have been ready for at least minReadySeconds.
  observedGeneration int64 The generation of the most recently observed ReplicaSet.
  terminatingReplicas integer Pods of the ReplicaSet that are terminating.
  conditions []object Latest available observations of the ReplicaSet's state.
coordination LeaseSpec: The specification of a Lease.
  holderIdentity string The identity of the current holder of the lease.
  leaseDurationSeconds integer Seconds that candidates wait before forcibly acquiring the lease.
  acquireTime MicroTime When the current lease was acquired.
  renewTime MicroTime When the current holder last renewed the lease.
  leaseTransitions integer The number of transitions of the lease between holders.
  preferredHolder string The identity the lease should be given to.
  strategy string The strategy for picking the leader in coordinated leader election.
autoscaling ScaleSpec: The attributes of a scale subresource.
  replicas integer The desired number of instances of the scaled object.
autoscaling ScaleStatus: The current status of a scale subresource.
  replicas! integer The actual number of observed instances of the scaled object.
  selector string Label query over the pods, in selector syntax.
core Pod @/v1: A collection of containers that run on a host, created by clients and scheduled onto nodes.
  +object
  spec PodSpec Specification of the desired behavior of the pod.
  status PodStatus Most recently observed status of the pod. Read-only, set by the system.
core Service @/v1: A named abstraction of a software service: a port the proxy listens on, and the pods behind it.
  +object
  spec ServiceSpec Specification of the desired behavior of the service.
  status ServiceStatus Most recently observed status of the service. Read-only, set by the system.
core Node @/v1: A worker node. Each node has a unique name.
  +object
  spec NodeSpec Specification of the desired behavior of the node.
  status NodeStatus Most recently observed status of the node. Read-only, set by the system.
core Namespace @/v1: A scope for names.
  +object
  spec NamespaceSpec Specification of the desired behavior of the namespace.
  status NamespaceStatus Most recently observed status of the namespace. Read-only, set by the system.
core Endpoints @/v1: The set of endpoints that implement a service.
  +object
  subsets []EndpointSubset The addresses and ports that make up the service.
core ConfigMap @/v1: Configuration data for pods to consume.
  +object
  data map Configuration data (UTF-8 values).
  binaryData map Binary configuration data (base64 values).
  immutable boolean If true, the data cannot be updated.
core Secret @/v1: Secret data of a certain type, e.g. a password or a token.
  +object
  data map Secret data, base64 encoded.
  stringData map Write-only convenience: plain values merged into data.
  type string Used for programmatic handling of the data. Default: Opaque.
  immutable boolean If true, the data cannot be updated.
apps Deployment @apps/v1: Declarative updates for pods and ReplicaSets.
  +object
  spec DeploymentSpec Specification of the desired behavior of the deployment.
  status DeploymentStatus Most recently observed status of the deployment. Read-only, set by the system.
apps ReplicaSet @apps/v1: Ensures that a specified number of pod replicas are running.
  +object
  spec ReplicaSetSpec Specification of the desired behavior of the ReplicaSet.
  status ReplicaSetStatus Most recently observed status of the ReplicaSet. Read-only, set by the system.
coordination Lease @coordination.k8s.io/v1: A lease, used e.g. for leader election and node heartbeats.
  +object
  spec LeaseSpec The specification of the lease.
autoscaling Scale @autoscaling/v1: A scaling request for a resource.
  +object
  spec ScaleSpec Specification of the desired behavior of the scale.
  status ScaleStatus Most recently observed status of the scale. Read-only, set by the system.
core Event @/v1: A report of an event somewhere in the cluster.
  +object
  involvedObject! ObjectReference The object that this event is about.
  reason string A short, machine understandable reason for the transition, e.g. Pulled.
  message string A human-readable description of the status of this operation.
  type string Normal or Warning.
  source EventSource The component reporting this event.
  firstTimestamp Time When the event was first recorded.
  lastTimestamp Time When the most recent occurrence of this event was recorded.
  count integer The number of times this event has occurred.
  eventTime MicroTime When this event was first observed.
  series EventSeries Data about the event series this event belongs to.
  reportingComponent string The controller that emitted this event.
  reportingInstance string The ID of the controller instance.
  action string What action was taken or failed on the regarding object.
  related ObjectReference An optional secondary object for more complex actions.
"""

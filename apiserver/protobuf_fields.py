"""Protobuf field numbers of the Kubernetes messages kubelite decodes, as data: the overlay that
`apiserver.protobuf_schema` parses and checks against the published schemas.

One line per message, `Name: json=number[:type][!][^] ...`, with the numbers of the upstream `generated.proto`
files (k8s.io/api, k8s.io/apimachinery); see `apiserver.protobuf_schema` for what each mark means. A line that
starts with spaces continues the message above it.
"""

TABLE = """
ObjectMeta: name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:int
  creationTimestamp=8:Time deletionTimestamp=9:Time deletionGracePeriodSeconds=10:int! labels=11:{string}
  annotations=12:{string} ownerReferences=13:[OwnerReference] finalizers=14:[string]
  managedFields=17:[ManagedFieldsEntry]
OwnerReference: kind=1! name=3! uid=4! apiVersion=5! controller=6:bool! blockOwnerDeletion=7:bool!
ManagedFieldsEntry: manager=1 operation=2 apiVersion=3 time=4:Time fieldsType=6 fieldsV1=7:FieldsV1 subresource=8
LabelSelector: matchLabels=1:{string} matchExpressions=2:[LabelSelectorRequirement]
LabelSelectorRequirement: key=1! operator=2! values=3:[string]
Condition: type=1! status=2! observedGeneration=3:int lastTransitionTime=4:Time reason=5! message=6!

Namespace: metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus
NamespaceSpec: finalizers=1:[string]
NamespaceStatus: phase=1 conditions=2:[NamespaceCondition]
NamespaceCondition: type=1! status=2! lastTransitionTime=4:Time reason=5 message=6

CertificateSigningRequest: metadata=1:ObjectMeta spec=2:CertificateSigningRequestSpec
  status=3:CertificateSigningRequestStatus
CertificateSigningRequestSpec: request=1:bytes username=2 uid=3 groups=4:[string] usages=5:[string] extra=6
  signerName=7 expirationSeconds=8:int!
CertificateSigningRequestStatus: conditions=1:[CertificateSigningRequestCondition] certificate=2:bytes
CertificateSigningRequestCondition: type=1! reason=2 message=3 lastUpdateTime=4:Time lastTransitionTime=5:Time
  status=6!

ConfigMap: metadata=1:ObjectMeta data=2:{string} binaryData=3:{bytes} immutable=4:bool!
Secret: metadata=1:ObjectMeta data=2:{bytes} type=3 stringData=4:{string} immutable=5:bool!

Service: metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus
ServiceSpec: ports=1:[ServicePort] selector=2:{string} clusterIP=3 type=4 externalIPs=5:[string]
  sessionAffinity=7 loadBalancerIP=8 loadBalancerSourceRanges=9:[string] externalName=10
  externalTrafficPolicy=11 healthCheckNodePort=12:int publishNotReadyAddresses=13:bool
  sessionAffinityConfig=14:SessionAffinityConfig ipFamilyPolicy=17! clusterIPs=18:[string]
  ipFamilies=19:[string] allocateLoadBalancerNodePorts=20:bool! loadBalancerClass=21! internalTrafficPolicy=22!
  trafficDistribution=23!
ServicePort: name=1 protocol=2 port=3:int! targetPort=4:IntOrString nodePort=5:int appProtocol=6!
SessionAffinityConfig: clientIP=1:ClientIPConfig
ClientIPConfig: timeoutSeconds=1:int!
ServiceStatus: loadBalancer=1:LoadBalancerStatus conditions=2:[Condition]
LoadBalancerStatus: ingress=1:[LoadBalancerIngress]
LoadBalancerIngress: ip=1 hostname=2 ports=4:[PortStatus] ipMode=5!
PortStatus: port=1:int! protocol=2! error=3!

Endpoints: metadata=1:ObjectMeta subsets=2:[EndpointSubset]
EndpointSubset: addresses=1:[EndpointAddress] notReadyAddresses=2:[EndpointAddress] ports=3:[EndpointPort]
EndpointAddress: ip=1! targetRef=2:ObjectReference hostname=3 nodeName=4!
EndpointPort: name=1 port=2:int! protocol=3 appProtocol=4!
ObjectReference: kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7

Event: metadata=1:ObjectMeta involvedObject=2:ObjectReference reason=3 message=4 source=5:EventSource
  firstTimestamp=6:Time lastTimestamp=7:Time count=8:int type=9 eventTime=10:MicroTime series=11:EventSeries
  action=12 related=13:ObjectReference reportingComponent=14! reportingInstance=15!
EventSource: component=1 host=2
EventSeries: count=1:int lastObservedTime=2:MicroTime

Node: metadata=1:ObjectMeta spec=2:NodeSpec status=3:NodeStatus
NodeSpec: podCIDR=1 externalID=2 providerID=3 unschedulable=4:bool taints=5:[Taint] podCIDRs=7:[string]
Taint: key=1! value=2 effect=3! timeAdded=4:Time
NodeStatus: capacity=1:{Quantity} allocatable=2:{Quantity} phase=3 conditions=4:[NodeCondition]
  addresses=5:[NodeAddress] daemonEndpoints=6:NodeDaemonEndpoints nodeInfo=7:NodeSystemInfo
  images=8:[ContainerImage] volumesInUse=9:[string] volumesAttached=10:[AttachedVolume]
NodeCondition: type=1! status=2! lastHeartbeatTime=3:Time lastTransitionTime=4:Time reason=5 message=6
NodeAddress: type=1! address=2!
NodeDaemonEndpoints: kubeletEndpoint=1:DaemonEndpoint
DaemonEndpoint: Port=1:int!
NodeSystemInfo: machineID=1! systemUUID=2! bootID=3! kernelVersion=4! osImage=5! containerRuntimeVersion=6!
  kubeletVersion=7! kubeProxyVersion=8! operatingSystem=9! architecture=10!
ContainerImage: names=1:[string] sizeBytes=2:int
AttachedVolume: name=1! devicePath=2!

Pod: metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus
PodTemplateSpec: metadata=1:ObjectMeta spec=2:PodSpec
PodSpec: volumes=1:[Volume] containers=2:[Container] restartPolicy=3 terminationGracePeriodSeconds=4:int!
  activeDeadlineSeconds=5:int! dnsPolicy=6 nodeSelector=7:{string} serviceAccountName=8 serviceAccount=9
  nodeName=10 hostNetwork=11:bool hostPID=12:bool hostIPC=13:bool securityContext=14:PodSecurityContext
  imagePullSecrets=15:[LocalObjectReference] hostname=16 subdomain=17 affinity=18:Affinity schedulerName=19
  initContainers=20:[Container] automountServiceAccountToken=21:bool! tolerations=22:[Toleration]
  hostAliases=23:[HostAlias] priorityClassName=24 priority=25:int! dnsConfig=26:PodDNSConfig
  shareProcessNamespace=27:bool! readinessGates=28:[PodReadinessGate] runtimeClassName=29!
  enableServiceLinks=30:bool! preemptionPolicy=31! overhead=32:{Quantity}
  topologySpreadConstraints=33:[TopologySpreadConstraint] setHostnameAsFQDN=35:bool! os=36:PodOS
  hostUsers=37:bool! schedulingGates=38:[PodSchedulingGate]
PodOS: name=1!
PodSchedulingGate: name=1!
PodReadinessGate: conditionType=1!
HostAlias: ip=1 hostnames=2:[string]
PodDNSConfig: nameservers=1:[string] searches=2:[string] options=3:[PodDNSConfigOption]
PodDNSConfigOption: name=1 value=2!
LocalObjectReference: name=1
Toleration: key=1 operator=2 value=3 effect=4 tolerationSeconds=5:int!
TopologySpreadConstraint: maxSkew=1:int! topologyKey=2! whenUnsatisfiable=3! labelSelector=4:LabelSelector
  minDomains=5:int! nodeAffinityPolicy=6! nodeTaintsPolicy=7! matchLabelKeys=8:[string]
Affinity: nodeAffinity=1:NodeAffinity podAffinity=2:PodAffinity podAntiAffinity=3:PodAntiAffinity
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector
  preferredDuringSchedulingIgnoredDuringExecution=2:[PreferredSchedulingTerm]
NodeSelector: nodeSelectorTerms=1:[NodeSelectorTerm]
NodeSelectorTerm: matchExpressions=1:[NodeSelectorRequirement] matchFields=2:[NodeSelectorRequirement]
NodeSelectorRequirement: key=1! operator=2! values=3:[string]
PreferredSchedulingTerm: weight=1:int! preference=2:NodeSelectorTerm
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]
  preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]
  preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]
PodAffinityTerm: labelSelector=1:LabelSelector namespaces=2:[string] topologyKey=3! namespaceSelector=4:LabelSelector
WeightedPodAffinityTerm: weight=1:int! podAffinityTerm=2:PodAffinityTerm
PodSecurityContext: seLinuxOptions=1:SELinuxOptions runAsUser=2:int! runAsNonRoot=3:bool!
  supplementalGroups=4:[int] fsGroup=5:int! runAsGroup=6:int! sysctls=7:[Sysctl]
  windowsOptions=8:WindowsSecurityContextOptions fsGroupChangePolicy=9! seccompProfile=10:SeccompProfile
SecurityContext: capabilities=1:Capabilities privileged=2:bool! seLinuxOptions=3:SELinuxOptions runAsUser=4:int!
  runAsNonRoot=5:bool! readOnlyRootFilesystem=6:bool! allowPrivilegeEscalation=7:bool! runAsGroup=8:int!
  procMount=9! windowsOptions=10:WindowsSecurityContextOptions seccompProfile=11:SeccompProfile
Capabilities: add=1:[string] drop=2:[string]
SELinuxOptions: user=1 role=2 type=3 level=4
WindowsSecurityContextOptions: gmsaCredentialSpecName=1! gmsaCredentialSpec=2! runAsUserName=3! hostProcess=4:bool!
SeccompProfile: type=1! localhostProfile=2!
Sysctl: name=1! value=2!

Container: name=1! image=2 command=3:[string] args=4:[string] workingDir=5 ports=6:[ContainerPort]
  env=7:[EnvVar] resources=8:ResourceRequirements volumeMounts=9:[VolumeMount] livenessProbe=10:Probe
  readinessProbe=11:Probe lifecycle=12:Lifecycle terminationMessagePath=13 imagePullPolicy=14
  securityContext=15:SecurityContext stdin=16:bool stdinOnce=17:bool tty=18:bool envFrom=19:[EnvFromSource]
  terminationMessagePolicy=20 volumeDevices=21:[VolumeDevice] startupProbe=22:Probe
  resizePolicy=23:[ContainerResizePolicy] restartPolicy=24!
ContainerPort: name=1 hostPort=2:int containerPort=3:int! protocol=4 hostIP=5
ContainerResizePolicy: resourceName=1! restartPolicy=2!
EnvVar: name=1! value=2 valueFrom=3:EnvVarSource
EnvVarSource: fieldRef=1:ObjectFieldSelector resourceFieldRef=2:ResourceFieldSelector
  configMapKeyRef=3:ConfigMapKeySelector secretKeyRef=4:SecretKeySelector
ObjectFieldSelector: apiVersion=1 fieldPath=2!
ResourceFieldSelector: containerName=1 resource=2! divisor=3:Quantity
ConfigMapKeySelector: localObjectReference=1:LocalObjectReference^ key=2! optional=3:bool!
SecretKeySelector: localObjectReference=1:LocalObjectReference^ key=2! optional=3:bool!
EnvFromSource: prefix=1 configMapRef=2:ConfigMapEnvSource secretRef=3:SecretEnvSource
ConfigMapEnvSource: localObjectReference=1:LocalObjectReference^ optional=2:bool!
SecretEnvSource: localObjectReference=1:LocalObjectReference^ optional=2:bool!
ResourceRequirements: limits=1:{Quantity} requests=2:{Quantity}
VolumeMount: name=1! readOnly=2:bool mountPath=3! subPath=4 mountPropagation=5! subPathExpr=6
  recursiveReadOnly=7!
VolumeDevice: name=1! devicePath=2!
Probe: handler=1:ProbeHandler^ initialDelaySeconds=2:int timeoutSeconds=3:int periodSeconds=4:int
  successThreshold=5:int failureThreshold=6:int terminationGracePeriodSeconds=7:int!
ProbeHandler: exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction grpc=4:GRPCAction
Lifecycle: postStart=1:LifecycleHandler preStop=2:LifecycleHandler
LifecycleHandler: exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction sleep=4:SleepAction
ExecAction: command=1:[string]
HTTPGetAction: path=1 port=2:IntOrString host=3 scheme=4 httpHeaders=5:[HTTPHeader]
HTTPHeader: name=1! value=2!
TCPSocketAction: port=1:IntOrString host=2
GRPCAction: port=1:int! service=2!
SleepAction: seconds=1:int!

Volume: name=1! volumeSource=2:VolumeSource^
VolumeSource: hostPath=1:HostPathVolumeSource emptyDir=2:EmptyDirVolumeSource secret=6:SecretVolumeSource
  nfs=7:NFSVolumeSource persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource
  downwardAPI=16:DownwardAPIVolumeSource configMap=19:ConfigMapVolumeSource projected=26:ProjectedVolumeSource
HostPathVolumeSource: path=1! type=2!
EmptyDirVolumeSource: medium=1 sizeLimit=2:Quantity
SecretVolumeSource: secretName=1 items=2:[KeyToPath] defaultMode=3:int! optional=4:bool!
ConfigMapVolumeSource: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath] defaultMode=3:int!
  optional=4:bool!
KeyToPath: key=1! path=2! mode=3:int!
NFSVolumeSource: server=1! path=2! readOnly=3:bool
PersistentVolumeClaimVolumeSource: claimName=1! readOnly=2:bool
DownwardAPIVolumeSource: items=1:[DownwardAPIVolumeFile] defaultMode=2:int!
DownwardAPIVolumeFile: path=1! fieldRef=2:ObjectFieldSelector resourceFieldRef=3:ResourceFieldSelector mode=4:int!
ProjectedVolumeSource: sources=1:[VolumeProjection] defaultMode=2:int!
VolumeProjection: secret=1:SecretProjection downwardAPI=2:DownwardAPIProjection configMap=3:ConfigMapProjection
  serviceAccountToken=4:ServiceAccountTokenProjection
SecretProjection: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath] optional=4:bool!
ConfigMapProjection: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath] optional=4:bool!
DownwardAPIProjection: items=1:[DownwardAPIVolumeFile]
ServiceAccountTokenProjection: audience=1 expirationSeconds=2:int! path=3!

PodStatus: phase=1 conditions=2:[PodCondition] message=3 reason=4 hostIP=5 podIP=6 startTime=7:Time
  containerStatuses=8:[ContainerStatus] qosClass=9 initContainerStatuses=10:[ContainerStatus]
  nominatedNodeName=11 podIPs=12:[PodIP] ephemeralContainerStatuses=13:[ContainerStatus] hostIPs=16:[HostIP]
PodCondition: type=1! status=2! lastProbeTime=3:Time lastTransitionTime=4:Time reason=5 message=6
PodIP: ip=1!
HostIP: ip=1!
ContainerStatus: name=1! state=2:ContainerState lastState=3:ContainerState ready=4:bool! restartCount=5:int!
  image=6! imageID=7! containerID=8 started=9:bool!
ContainerState: waiting=1:ContainerStateWaiting running=2:ContainerStateRunning
  terminated=3:ContainerStateTerminated
ContainerStateWaiting: reason=1 message=2
ContainerStateRunning: startedAt=1:Time
ContainerStateTerminated: exitCode=1:int! signal=2:int reason=3 message=4 startedAt=5:Time finishedAt=6:Time
  containerID=7

Deployment: metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus
DeploymentSpec: replicas=1:int! selector=2:LabelSelector template=3:PodTemplateSpec strategy=4:DeploymentStrategy
  minReadySeconds=5:int revisionHistoryLimit=6:int! paused=7:bool progressDeadlineSeconds=9:int!
DeploymentStrategy: type=1 rollingUpdate=2:RollingUpdateDeployment
RollingUpdateDeployment: maxUnavailable=1:IntOrString maxSurge=2:IntOrString
DeploymentStatus: observedGeneration=1:int replicas=2:int updatedReplicas=3:int availableReplicas=4:int
  unavailableReplicas=5:int conditions=6:[DeploymentCondition] readyReplicas=7:int collisionCount=8:int!
DeploymentCondition: type=1! status=2! reason=4 message=5 lastUpdateTime=6:Time lastTransitionTime=7:Time

ReplicaSet: metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus
ReplicaSetSpec: replicas=1:int! selector=2:LabelSelector template=3:PodTemplateSpec minReadySeconds=4:int
ReplicaSetStatus: replicas=1:int! fullyLabeledReplicas=2:int observedGeneration=3:int readyReplicas=4:int
  availableReplicas=5:int conditions=6:[ReplicaSetCondition]
ReplicaSetCondition: type=1! status=2! lastTransitionTime=3:Time reason=4 message=5

EndpointSlice: metadata=1 addressType=4! endpoints=2 ports=3
io.k8s.api.discovery.v1.Endpoint: addresses=1 conditions=2 hostname=3! targetRef=4 deprecatedTopology=5
  nodeName=6! zone=7! hints=8
EndpointConditions: ready=1! serving=2! terminating=3!
EndpointHints: forZones=1
ForZone: name=1!
io.k8s.api.discovery.v1.EndpointPort: name=1! protocol=2! port=3! appProtocol=4!

Job: metadata=1 spec=2 status=3
JobSpec: parallelism=1! completions=2! activeDeadlineSeconds=3! podFailurePolicy=11! successPolicy=16!
  backoffLimit=7! backoffLimitPerIndex=12! maxFailedIndexes=13! selector=4! manualSelector=5! template=6!
  ttlSecondsAfterFinished=8! completionMode=9! suspend=10! podReplacementPolicy=14! managedBy=15!
CronJob: metadata=1 spec=2 status=3
CronJobSpec: schedule=1! timeZone=8! startingDeadlineSeconds=2! concurrencyPolicy=3 suspend=4! jobTemplate=5!
  successfulJobsHistoryLimit=6! failedJobsHistoryLimit=7!
JobTemplateSpec: metadata=1 spec=2

Eviction: metadata=1 deleteOptions=2
DeleteOptions: gracePeriodSeconds=1! preconditions=2 orphanDependents=3! propagationPolicy=4! dryRun=5
  ignoreStoreReadErrorWithClusterBreakingPotential=6!
Preconditions: uid=1! resourceVersion=2!
PodDisruptionBudget: metadata=1 spec=2 status=3
PodDisruptionBudgetSpec: minAvailable=1 selector=2 maxUnavailable=3 unhealthyPodEvictionPolicy=4!

PriorityClass: metadata=1 value=2! globalDefault=3 description=4 preemptionPolicy=5!
ResourceQuota: metadata=1 spec=2 status=3
ResourceQuotaSpec: hard=1 scopes=2 scopeSelector=3
ScopeSelector: matchExpressions=1
ScopedResourceSelectorRequirement: scopeName=1! operator=2! values=3

Ingress: metadata=1 spec=2 status=3
IngressSpec: ingressClassName=4! defaultBackend=1 tls=2 rules=3
IngressBackend: service=4 resource=3
TypedLocalObjectReference: apiGroup=1! kind=2! name=3!
IngressServiceBackend: name=1! port=2
ServiceBackendPort: name=1 number=2
IngressTLS: hosts=1 secretName=2
IngressRule: host=1 ingressRuleValue=2:IngressRuleValue^
IngressRuleValue: http=1
HTTPIngressRuleValue: paths=1
HTTPIngressPath: path=1 pathType=3! backend=2

io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler: metadata=1 spec=2 status=3
io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec: scaleTargetRef=1 minReplicas=2! maxReplicas=3!
  targetCPUUtilizationPercentage=4!
io.k8s.api.autoscaling.v1.CrossVersionObjectReference: kind=1! name=2! apiVersion=3
io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler: metadata=1 spec=2 status=3
io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec: scaleTargetRef=1 minReplicas=2! maxReplicas=3! metrics=4
  behavior=5
io.k8s.api.autoscaling.v2.CrossVersionObjectReference: kind=1! name=2! apiVersion=3
MetricSpec: type=1! object=2 pods=3 resource=4 containerResource=7 external=5
ResourceMetricSource: name=1! target=2
MetricTarget: type=1! value=2 averageValue=3 averageUtilization=4!

Lease: metadata=1:ObjectMeta spec=2:LeaseSpec
LeaseSpec: holderIdentity=1! leaseDurationSeconds=2:int! acquireTime=3:MicroTime renewTime=4:MicroTime
  leaseTransitions=5:int! strategy=6! preferredHolder=7!

ServiceAccount: metadata=1:ObjectMeta secrets=2:[ObjectReference] imagePullSecrets=3:[LocalObjectReference]
  automountServiceAccountToken=4:bool!

Role: metadata=1:ObjectMeta rules=2:[PolicyRule]
ClusterRole: metadata=1:ObjectMeta rules=2:[PolicyRule] aggregationRule=3:AggregationRule
PolicyRule: verbs=1:[string] apiGroups=2:[string] resources=3:[string] resourceNames=4:[string]
  nonResourceURLs=5:[string]
AggregationRule: clusterRoleSelectors=1:[LabelSelector]
RoleBinding: metadata=1:ObjectMeta subjects=2 roleRef=3:RoleRef
ClusterRoleBinding: metadata=1:ObjectMeta subjects=2 roleRef=3:RoleRef
RoleRef: apiGroup=1! kind=2! name=3!
io.k8s.api.rbac.v1.Subject: kind=1! apiGroup=2 name=3! namespace=4

io.k8s.api.authentication.v1.TokenRequest: metadata=1:ObjectMeta spec=2 status=3
TokenRequestSpec: audiences=1:[string]! boundObjectRef=3:BoundObjectReference expirationSeconds=4:int!
BoundObjectReference: kind=1 apiVersion=2 name=3 uid=4
TokenRequestStatus: token=1! expirationTimestamp=2:Time
TokenReview: metadata=1:ObjectMeta spec=2:TokenReviewSpec status=3:TokenReviewStatus
TokenReviewSpec: token=1 audiences=2:[string]
TokenReviewStatus: authenticated=1:bool user=2:UserInfo error=3 audiences=4:[string]
UserInfo: username=1 uid=2 groups=3:[string]
io.k8s.api.authentication.v1.SelfSubjectReview: metadata=1:ObjectMeta status=2
io.k8s.api.authentication.v1.SelfSubjectReviewStatus: userInfo=1:UserInfo

SubjectAccessReview: metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus
LocalSubjectAccessReview: metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus
SubjectAccessReviewSpec: resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes
  user=3 groups=4:[string] uid=6
SelfSubjectAccessReview: metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec
  status=3:SubjectAccessReviewStatus
SelfSubjectAccessReviewSpec: resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes
ResourceAttributes: namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7
  fieldSelector=8:FieldSelectorAttributes labelSelector=9:LabelSelectorAttributes
FieldSelectorAttributes: rawSelector=1 requirements=2:[FieldSelectorRequirement]
FieldSelectorRequirement: key=1! operator=2! values=3:[string]
LabelSelectorAttributes: rawSelector=1 requirements=2:[LabelSelectorRequirement]
NonResourceAttributes: path=1 verb=2
SubjectAccessReviewStatus: allowed=1:bool! reason=2 evaluationError=3 denied=4:bool
SelfSubjectRulesReview: metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec
SelfSubjectRulesReviewSpec: namespace=1
"""

"""The kubelet: the node agent that runs the pods bound to its node on Docker.

kubelet.py        wiring: node agent, informers, pod workers, Docker events, sweep, host-gw routes
node.py           Node registration, Lease heartbeat, node status
pod_workers.py    one serialised worker per pod
pod_sync.py       one pod's reconciliation (sandbox, init and app containers, restarts, deletion, eviction)
pod_start.py      its start steps: sandbox, image, volume directories, create arguments, create and start
pod_status_writer.py  its status: container views, finished or not, the status patch, start latency
pod_actions.py    pure: what a sync must do, from the pod's spec and its observed containers
status.py         pure pod status computation
probes.py         liveness / readiness / startup probes
images.py         image pull policies and pull back-off
backoff.py        CrashLoopBackOff delays
server.py         the kubelet HTTP API (container logs, /healthz, /metrics)
volumes/          API volumes, fsGroup ownership, emptyDir sizeLimit
runtime/          Docker (docker.py) and pod spec -> Docker arguments (spec.py)
network/          CNI plugins (cni.py), pod network modes (pod_network.py), host routes and rules (host.py)
hollow.py         simulated nodes for control-plane scale tests (no containers)
"""

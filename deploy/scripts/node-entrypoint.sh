#!/bin/bash
# A kubelite node in one container, without --privileged: make the cgroup folders and /proc/sys writable (the
# container has every capability but SYS_RESOURCE, and no seccomp/AppArmor profile), start the node's own dockerd,
# load the pod sandbox image, then run kube-proxy, the kubelet and the network policy agent (kube-netpol). If any of
# them exits, the node stops (and compose's restart policy decides what happens next).
#
# Credentials (this node's only, from its own volume, deploy/scripts/certs.py): /pki/kubelet.conf
# (system:node:$NODE_NAME), /pki/kube-proxy.conf, /pki/kube-netpol.conf (system:kube-netpol:$NODE_NAME),
# /pki/kubelet.crt and .key (the kubelet API's HTTPS), /pki/metrics.crt and .key (kube-proxy's and kube-netpol's secure
# /metrics ports, 10263 and 10266; their plain ones stay on 127.0.0.1), /pki/ca.crt.
# Environment: NODE_NAME (default: the hostname), PKI (default /pki), REGISTRY (the cluster registry, trusted over
# plain HTTP), CLUSTER_CIDR, CLUSTER_DNS (the kube-dns Service's address), KUBELET_ARGS, KUBE_PROXY_ARGS,
# KUBE_NETPOL_ARGS.
set -euo pipefail
NODE_NAME=${NODE_NAME:-$(hostname)}
PKI=${PKI:-/pki}
REGISTRY=${REGISTRY:-registry:5000}
CLUSTER_CIDR=${CLUSTER_CIDR:-10.244.0.0/16}
CLUSTER_DNS=${CLUSTER_DNS:-10.96.0.10}

log() { echo "node-entrypoint: $*" >&2; }

# Docker mounts these read-only for unprivileged containers; CAP_SYS_ADMIN may remount them.
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
for d in /sys/fs/cgroup/*/; do
  # The controllers are bind mounts of the container's own cgroup: a plain remount is "busy", a bind one is not.
  mountpoint -q "$d" && { mount -o remount,rw,bind "$d" 2>/dev/null || mount -o remount,rw "$d" 2>/dev/null || true; }
done
mount -o remount,rw,bind /proc/sys 2>/dev/null || mount -o remount,rw /proc/sys 2>/dev/null || true
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: processes may not sit in a cgroup whose controllers are delegated to children; move ours aside.
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || true
fi
echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true

# Pods get their network from the CNI plugins, so dockerd needs no bridge and must leave iptables to us.
rm -f /var/run/docker.pid
dockerd --host unix:///var/run/docker.sock --storage-driver overlay2 --bridge none --iptables=false \
  --ip-masq=false --insecure-registry "$REGISTRY" --log-level warn >/var/log/dockerd.log 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do
  docker info >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { cat /var/log/dockerd.log >&2; exit 1; }
  sleep 0.1
done
docker info >/dev/null 2>&1 || { log "dockerd did not start"; cat /var/log/dockerd.log >&2; exit 1; }
log "dockerd up"
if [ -f /opt/kubelite/images.tar ] && ! docker image inspect kubelite/pause:1 >/dev/null 2>&1; then
  docker load -q -i /opt/kubelite/images.tar >/dev/null
  log "loaded $(docker images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
fi

pids=("$dockerd_pid")
stop() {
  trap - TERM INT
  # The agents first, dockerd (and with it every pod container) last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait
  exit "${1:-0}"
}
trap stop TERM INT

# shellcheck disable=SC2086  # the *_ARGS are word lists on purpose
kube-proxy --kubeconfig "$PKI/kube-proxy.conf" --node-name "$NODE_NAME" --cluster-cidr "$CLUSTER_CIDR" \
  --secure-port 10263 --tls-cert-file "$PKI/metrics.crt" --tls-private-key-file "$PKI/metrics.key" \
  --client-ca-file "$PKI/ca.crt" ${KUBE_PROXY_ARGS:-} &
pids+=($!)
# shellcheck disable=SC2086
kubelet --kubeconfig "$PKI/kubelet.conf" --node-name "$NODE_NAME" --cluster-cidr "$CLUSTER_CIDR" \
  --address 0.0.0.0 --cluster-dns "$CLUSTER_DNS" --cluster-domain cluster.local \
  --tls-cert-file "$PKI/kubelet.crt" --tls-private-key-file "$PKI/kubelet.key" \
  --client-ca-file "$PKI/ca.crt" ${KUBELET_ARGS:-} &
pids+=($!)
# shellcheck disable=SC2086
kube-netpol --kubeconfig "$PKI/kube-netpol.conf" --node-name "$NODE_NAME" \
  --secure-port 10266 --tls-cert-file "$PKI/metrics.crt" --tls-private-key-file "$PKI/metrics.key" \
  --client-ca-file "$PKI/ca.crt" ${KUBE_NETPOL_ARGS:-} &
pids+=($!)

set +e
wait -n
code=$?
log "a node process exited ($code); stopping the node"
stop "$code"

#!/bin/bash
# One-shot: the cluster's CA, the apiserver's serving certificate, a bearer token per identity and a kubeconfig
# per component, in $PKI_DIR (a volume every service mounts read-only). Idempotent: an existing CA is kept.
# The admin kubeconfig (server https://127.0.0.1:$APISERVER_PORT) and ca.crt are copied to $OUT_DIR, a host
# folder, so that kctl and kubectl work from the host.
set -euo pipefail
PKI_DIR=${PKI_DIR:-/pki}
OUT_DIR=${OUT_DIR:-/out}
NODES=${NODES:-node-1 node-2 node-3 node-4}
APISERVER_PORT=${APISERVER_PORT:-6443}
IN_CLUSTER_SERVER=${IN_CLUSTER_SERVER:-https://apiserver:6443}
SANS="DNS:apiserver,DNS:apiserver-1,DNS:apiserver-2,DNS:apiserver-lb,DNS:localhost,IP:127.0.0.1"
[ -n "${APISERVER_IP:-}" ] && SANS="$SANS,IP:$APISERVER_IP"
umask 077
mkdir -p "$PKI_DIR/kubeconfigs"
cd "$PKI_DIR"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -s ca.crt ]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kubelite-ca" -out ca.crt \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  key apiserver.key
  openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' \
    "$SANS" >apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 825 \
    -extfile apiserver.ext -out apiserver.crt 2>/dev/null
  rm -f apiserver.csr apiserver.ext ca.srl
  echo "generated CA and apiserver certificate (SANs $SANS)"
fi

# token,user,uid,"groups": one identity per component and per node.
if [ ! -s tokens.csv ]; then
  tok() { openssl rand -hex 24; }
  {
    echo "$(tok),admin,admin,\"system:masters\""
    echo "$(tok),system:kube-scheduler,system:kube-scheduler"
    echo "$(tok),system:kube-controller-manager,system:kube-controller-manager"
    echo "$(tok),system:kube-dns,system:kube-dns"
    for n in $NODES; do echo "$(tok),system:node:$n,system:node:$n,\"system:nodes\""; done
  } >tokens.csv
fi

ca_b64=$(base64 -w0 ca.crt)
kubeconfig() { # file server user
  local token
  token=$(awk -F, -v u="$3" '$2 == u {print $1}' tokens.csv)
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kubelite
  cluster:
    server: $2
    certificate-authority-data: $ca_b64
users:
- name: $3
  user:
    token: $token
contexts:
- name: kubelite
  context:
    cluster: kubelite
    user: $3
current-context: kubelite
KC
}
kubeconfig kubeconfigs/scheduler.conf "$IN_CLUSTER_SERVER" system:kube-scheduler
kubeconfig kubeconfigs/controller-manager.conf "$IN_CLUSTER_SERVER" system:kube-controller-manager
kubeconfig kubeconfigs/kube-dns.conf "$IN_CLUSTER_SERVER" system:kube-dns
kubeconfig kubeconfigs/admin.conf "$IN_CLUSTER_SERVER" admin
for n in $NODES; do kubeconfig "kubeconfigs/$n.conf" "$IN_CLUSTER_SERVER" "system:node:$n"; done
# The services run as root; the files stay readable only inside the volume's containers.
chmod 0644 ca.crt
chmod 0755 . kubeconfigs
chmod 0644 kubeconfigs/*.conf

if [ -d "$OUT_DIR" ]; then
  kubeconfig "$OUT_DIR/kubeconfig" "https://127.0.0.1:$APISERVER_PORT" admin
  cp ca.crt "$OUT_DIR/ca.crt"
  chmod 0644 "$OUT_DIR/ca.crt"
  # Hand the files to whoever owns the mounted folder (the user who ran docker-compose).
  owner=$(stat -c %u:%g "$OUT_DIR")
  chown "$owner" "$OUT_DIR/kubeconfig" "$OUT_DIR/ca.crt"
  chmod 0600 "$OUT_DIR/kubeconfig"
  echo "admin kubeconfig written to the out folder (server https://127.0.0.1:$APISERVER_PORT)"
fi

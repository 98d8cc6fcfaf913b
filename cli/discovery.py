"""Token discovery, as `kubeadm join --token T --discovery-token-ca-cert-hash sha256:H` does it:

1. read kube-public/cluster-info from the given address anonymously, not yet trusting its TLS certificate;
2. its `jws-kubeconfig-<token id>` must be the token's detached JWS of its `kubeconfig` (so whoever wrote it
   knows the token);
3. the CA in that kubeconfig must have the public key whose hash was given (so it is the CA we were told of);
4. read cluster-info again, now verifying the server with that CA, and it must be the same.

Any failure is a DiscoveryError with one line that says which check failed.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import yaml

from apimachinery import bootstraptoken as bt

PATH = f"/api/v1/namespaces/{bt.CLUSTER_INFO_NAMESPACE}/configmaps/{bt.CLUSTER_INFO}"
TIMEOUT = 10.0


class DiscoveryError(RuntimeError):
    """The cluster could not be found or trusted."""


@dataclass(frozen=True)
class Cluster:
    server: str  # as cluster-info says
    ca_pem: bytes


def check_url(url: str) -> str:
    """`https://HOST:PORT` with HOST an IP address or a DNS name; the URL without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise DiscoveryError(f"the apiserver address must look like https://IP:PORT, not {url!r}")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not all(label and label.replace("-", "").isalnum() for label in parts.hostname.split(".")):
            raise DiscoveryError(f"{parts.hostname!r} is not an IP address or a host name") from None
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise DiscoveryError(f"bad port in {url!r}") from None
    return url.rstrip("/")


def _fetch(url: str, verify: ssl.SSLContext | bool) -> dict[str, str]:
    try:
        resp = httpx.get(url + PATH, verify=verify, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"cannot reach {url}: {exc}") from exc
    if resp.status_code != 200:
        raise DiscoveryError(f"{url} answered {resp.status_code} for the cluster-info ConfigMap")
    data = resp.json().get("data")
    if not isinstance(data, dict):
        raise DiscoveryError("the cluster-info ConfigMap has no data")
    return {str(k): str(v) for k, v in data.items()}


def _cluster(kubeconfig: str) -> Cluster:
    try:
        config = yaml.safe_load(kubeconfig)
        cluster = config["clusters"][0]["cluster"]
        return Cluster(str(cluster["server"]), base64.b64decode(cluster["certificate-authority-data"]))
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise DiscoveryError(
            "the cluster-info ConfigMap does not hold a kubeconfig with one cluster"
        ) from exc


def discover(url: str, token: bt.Token, ca_hash: str) -> Cluster:
    """The cluster at `url`, once the token's signature and the CA pin both check out."""
    url = check_url(url)
    if bt.CA_HASH_RE.fullmatch(ca_hash) is None:
        raise DiscoveryError("--discovery-token-ca-cert-hash must be sha256:<64 hex digits>")
    data = _fetch(url, False)  # not trusted yet: the signature and the pin below decide
    kubeconfig = data.get("kubeconfig", "")
    signature = data.get(bt.JWS_PREFIX + token.id)
    if signature is None:
        raise DiscoveryError(
            f"token id {token.id!r} is not known to the cluster (no signature of cluster-info for it)"
        )
    if not bt.signature_valid(signature, kubeconfig, token):
        raise DiscoveryError("the cluster-info signature does not match the token: wrong token secret")
    cluster = _cluster(kubeconfig)
    try:
        found = bt.ca_cert_hash(cluster.ca_pem)
    except ValueError as exc:
        raise DiscoveryError("the CA in cluster-info is not a certificate") from exc
    if found != ca_hash:
        raise DiscoveryError(
            f"the cluster's CA does not match --discovery-token-ca-cert-hash (its hash is {found})"
        )
    pinned = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    if _fetch(url, pinned).get("kubeconfig") != kubeconfig:
        raise DiscoveryError("cluster-info changed between the two reads")
    return Cluster(url, cluster.ca_pem)

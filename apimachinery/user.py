"""Who is asking: the user of one request, as Kubernetes' `user.Info` (k8s.io/apiserver/pkg/authentication/user).

The apiserver builds one `UserInfo` per request from the client's credentials; the kubelet builds one for each
caller of its API (from a client certificate, or from a TokenReview of a bearer token). Authorizers and admission
plugins read it; nothing changes it after it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Well-known names and groups (as in Kubernetes).
ANONYMOUS = "system:anonymous"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
NODES = "system:nodes"
NODE_PREFIX = "system:node:"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
KUBE_PROXY = "system:kube-proxy"
KUBE_SCHEDULER = "system:kube-scheduler"
KUBE_CONTROLLER_MANAGER = "system:kube-controller-manager"
# The cluster DNS add-on (kube_dns) is the ServiceAccount kube-system/kube-dns, as upstream's bootstrap policy has it:
# a host process, so `kctl up` and compose mint it a client certificate with the groups a token of it would carry.
KUBE_DNS = "system:serviceaccount:kube-system:kube-dns"
KUBE_DNS_GROUPS = (SERVICE_ACCOUNTS, "system:serviceaccounts:kube-system")
APISERVER_KUBELET_CLIENT = "kube-apiserver-kubelet-client"
# The metrics add-on (metrics_server), a host process or a container with a client certificate of its own.
METRICS_SERVER = "system:metrics-server"
# The apiserver's front-proxy client certificate (the aggregation layer): aggregated servers trust X-Remote-* only
# from a certificate with this name, issued by the front-proxy CA.
FRONT_PROXY_CLIENT = "front-proxy-client"
# The network policy agent, one per node: `system:kube-netpol:<node>` in the group every agent is in.
KUBE_NETPOL_PREFIX = "system:kube-netpol:"
KUBE_NETPOLS = "system:kube-netpols"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, object]:
        """The `UserInfo` of authentication.k8s.io/v1 (TokenReview status, SelfSubjectReview)."""
        out: dict[str, object] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserInfo:
        groups = data.get("groups")
        extra = data.get("extra")
        return cls(
            name=str(data.get("username") or ""),
            uid=str(data.get("uid") or ""),
            groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            extra={str(k): tuple(map(str, v)) for k, v in extra.items() if isinstance(v, list)}
            if isinstance(extra, dict)
            else {},
        )


def node_name(user: UserInfo) -> str | None:
    """The node a kubelet's user stands for (`system:node:<name>` in `system:nodes`), else None."""
    if NODES not in user.groups or not user.name.startswith(NODE_PREFIX):
        return None
    return user.name[len(NODE_PREFIX) :]


def netpol_agent(node: str) -> tuple[str, tuple[str, ...]]:
    """(user, groups) of the network policy agent on `node`."""
    return f"{KUBE_NETPOL_PREFIX}{node}", (KUBE_NETPOLS,)


def service_account_name(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of `system:serviceaccount:<ns>:<name>`, else None."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, sep, name = username[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED)


ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,))

"""The pure parts of authentication and authorization: request attributes, RBAC rule matching, the Node
authorizer's relations, impersonation, the 403 texts, and ServiceAccount tokens."""

from __future__ import annotations

import time

import pytest

from apimachinery.errors import StatusError
from apimachinery.pki import new_key
from apimachinery.user import UserInfo, node_name, split_service_account
from apiserver.auth import requestinfo
from apiserver.auth.authorizer import AlwaysDeny, Attributes, Chain, Decision, PrivilegedGroups, forbidden
from apiserver.auth.impersonation import impersonate
from apiserver.auth.node import NodeAuthorizer, references
from apiserver.auth.rbac import RBACAuthorizer, covers, resolve_rules, rule_allows
from apiserver.auth.tokens import InvalidToken, TokenIssuer

ALICE = UserInfo("alice", groups=("devs", "system:authenticated"))


def attrs(method: str, path: str, query: str = "", user: UserInfo = ALICE) -> Attributes:
    return Attributes(user, requestinfo.parse(method, path, query))


# ---- request info ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", "", ("list", "", "pods", "", "ns", "")),
        ("GET", "/api/v1/namespaces/ns/pods", "watch=true", ("watch", "", "pods", "", "ns", "")),
        ("GET", "/api/v1/watch/namespaces/ns/pods", "", ("watch", "", "pods", "", "ns", "")),
        ("GET", "/api/v1/namespaces/ns/pods/web/log", "", ("get", "", "pods", "log", "ns", "web")),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", "", ("create", "apps", "deployments", "", "ns", "")),
        ("DELETE", "/api/v1/namespaces/ns/pods", "", ("deletecollection", "", "pods", "", "ns", "")),
        ("PATCH", "/api/v1/nodes/n1/status", "", ("patch", "", "nodes", "status", "", "n1")),
        # The namespace object lives in itself, as in Kubernetes.
        ("GET", "/api/v1/namespaces/ns", "", ("get", "", "namespaces", "", "ns", "ns")),
        ("PUT", "/api/v1/namespaces/ns/finalize", "", ("update", "", "namespaces", "finalize", "ns", "ns")),
        # A list narrowed to one name is about that object.
        ("GET", "/api/v1/namespaces/ns/secrets", "fieldSelector=metadata.name%3Ds1", ("list", "", "secrets", "", "ns", "s1")),
    ],
)  # fmt: skip
def test_request_info(method: str, path: str, query: str, expected: tuple[str, ...]) -> None:
    info = requestinfo.parse(method, path, query)
    assert info.resource_request
    assert (info.verb, info.api_group, info.resource, info.subresource, info.namespace, info.name) == expected


def test_non_resource_paths() -> None:
    for path in ("/healthz", "/apis", "/apis/apps/v1", "/api", "/api/v1", "/openapi/v3/apis/apps/v1"):
        info = requestinfo.parse("GET", path)
        assert not info.resource_request and info.verb == "get" and info.path == path


# ---- RBAC ---------------------------------------------------------------------------------------------------


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> dict:
    out = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def test_rule_matching() -> None:
    read_pods = rule(["get", "list"], [""], ["pods"])
    assert rule_allows(read_pods, attrs("GET", "/api/v1/namespaces/ns/pods"))
    assert not rule_allows(read_pods, attrs("DELETE", "/api/v1/namespaces/ns/pods/x"))
    assert not rule_allows(read_pods, attrs("GET", "/api/v1/namespaces/ns/pods/x/log"))  # a subresource
    assert not rule_allows(read_pods, attrs("GET", "/apis/apps/v1/namespaces/ns/deployments"))
    assert rule_allows(rule(["get"], [""], ["*/log"]), attrs("GET", "/api/v1/namespaces/ns/pods/x/log"))
    assert rule_allows(
        rule(["*"], ["*"], ["*"]), attrs("DELETE", "/apis/apps/v1/namespaces/ns/deployments/d")
    )
    named = rule(["get"], [""], ["configmaps"], ["one"])
    assert rule_allows(named, attrs("GET", "/api/v1/namespaces/ns/configmaps/one"))
    assert not rule_allows(named, attrs("GET", "/api/v1/namespaces/ns/configmaps/two"))
    assert not rule_allows(named, attrs("GET", "/api/v1/namespaces/ns/configmaps"))  # a list: no name
    urls = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}
    assert rule_allows(urls, attrs("GET", "/apis/apps"))
    assert not rule_allows(urls, attrs("GET", "/metrics"))


class Source:
    def __init__(self, roles: dict, cluster_roles: dict, bindings: list, cluster_bindings: list) -> None:
        self.roles, self.cluster_roles = roles, cluster_roles
        self.bindings, self.cluster_bindings = bindings, cluster_bindings
        self.rev = 0

    def revision(self) -> object:
        return self.rev

    def cluster_role_bindings(self) -> list:
        return self.cluster_bindings

    def role_bindings(self, namespace: str) -> list:
        return [b for b in self.bindings if b["metadata"]["namespace"] == namespace]

    def cluster_role(self, name: str) -> dict | None:
        return self.cluster_roles.get(name)

    def role(self, namespace: str, name: str) -> dict | None:
        return self.roles.get((namespace, name))


def binding(ns: str, kind: str, role: str, *subjects: dict) -> dict:
    return {"metadata": {"name": "b", "namespace": ns}, "roleRef": {"kind": kind, "name": role},
            "subjects": list(subjects)}  # fmt: skip


def test_rbac_resolves_bindings_by_user_group_and_service_account() -> None:
    source = Source(
        roles={("team", "reader"): {"rules": [rule(["get"], [""], ["pods"])]}},
        cluster_roles={
            "view": {"rules": [rule(["list"], [""], ["services"])]},
            "nodes": {"rules": [rule(["get"], [""], ["nodes"])]},
        },
        bindings=[
            binding("team", "Role", "reader", {"kind": "Group", "name": "devs"}),
            binding("team", "ClusterRole", "view", {"kind": "ServiceAccount", "name": "bot"}),
        ],
        cluster_bindings=[binding("", "ClusterRole", "nodes", {"kind": "User", "name": "alice"})],
    )
    rbac = RBACAuthorizer(source)
    assert rbac.authorize(attrs("GET", "/api/v1/namespaces/team/pods/p"))[0] is Decision.ALLOW
    assert rbac.authorize(attrs("GET", "/api/v1/namespaces/other/pods/p"))[0] is Decision.NO_OPINION
    assert rbac.authorize(attrs("GET", "/api/v1/nodes/n"))[0] is Decision.ALLOW
    bot = UserInfo("system:serviceaccount:team:bot")
    assert rbac.authorize(attrs("GET", "/api/v1/namespaces/team/services", user=bot))[0] is Decision.ALLOW
    other_bot = UserInfo("system:serviceaccount:other:bot")
    assert (
        rbac.authorize(attrs("GET", "/api/v1/namespaces/team/services", user=other_bot))[0]
        is Decision.NO_OPINION
    )
    # The memo is dropped when RBAC objects change.
    source.bindings.clear()
    source.rev += 1
    assert rbac.authorize(attrs("GET", "/api/v1/namespaces/team/pods/p"))[0] is Decision.NO_OPINION
    assert len(resolve_rules(source, ALICE, "team")) == 1  # the cluster binding only


def test_escalation_check_needs_every_permission() -> None:
    owned = [rule(["get", "list"], [""], ["pods", "services"]), rule(["*"], ["apps"], ["deployments"])]
    assert covers(owned, rule(["get"], [""], ["pods"]))
    assert covers(owned, rule(["delete", "create"], ["apps"], ["deployments"]))
    assert not covers(owned, rule(["delete"], [""], ["pods"]))
    assert not covers(owned, rule(["*"], [""], ["pods"]))
    assert not covers(owned, rule(["get"], [""], ["secrets"]))


# ---- the chain and its messages ----------------------------------------------------------------------------


def test_forbidden_messages_are_kube_apiservers() -> None:
    sa = UserInfo("system:serviceaccount:ns:sa")
    err = forbidden(attrs("POST", "/api/v1/namespaces/ns/pods", user=sa))
    assert (err.code, err.reason) == (403, "Forbidden")
    assert err.message == (
        'pods is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "pods" in API group "" '
        'in the namespace "ns"'
    )
    assert err.status()["details"] == {"kind": "pods"}  # as Go writes StatusDetails (omitempty)
    err = forbidden(attrs("GET", "/apis/apps/v1/deployments/x"))
    assert err.message == (
        'deployments.apps "x" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" '
        "at the cluster scope"
    )
    assert forbidden(attrs("GET", "/metrics")).message == 'forbidden: User "alice" cannot get path "/metrics"'
    err = forbidden(attrs("GET", "/api/v1/namespaces/ns/pods/p/log"), "because")
    assert err.message.endswith(
        'cannot get resource "pods/log" in API group "" in the namespace "ns": because'
    )


def test_chain_stops_at_the_first_decision_and_keeps_reasons() -> None:
    masters = UserInfo("root", groups=("system:masters",))
    chain = Chain([PrivilegedGroups(), AlwaysDeny()])
    assert chain.authorize(attrs("DELETE", "/api/v1/nodes/n", user=masters))[0] is Decision.ALLOW
    decision, reason = chain.authorize(attrs("DELETE", "/api/v1/nodes/n"))
    assert (decision, reason) == (Decision.NO_OPINION, "Everything is forbidden.")


# ---- impersonation -----------------------------------------------------------------------------------------


class Allow:
    def __init__(self, allowed: set[tuple[str, str, str]]) -> None:
        self.allowed = allowed
        self.asked: list[tuple[str, str, str]] = []

    def authorize(self, a: Attributes) -> tuple[Decision, str]:
        key = (a.resource, a.namespace, a.name)
        self.asked.append(key)
        return (Decision.ALLOW if key in self.allowed else Decision.NO_OPINION), ""


def test_impersonation_checks_each_requested_identity() -> None:
    headers = [(b"impersonate-user", b"system:serviceaccount:ns:bot"), (b"impersonate-group", b"ops")]
    allow = Allow({("serviceaccounts", "ns", "bot"), ("groups", "", "ops")})
    user = impersonate(ALICE, headers, Chain([allow]))
    assert user.name == "system:serviceaccount:ns:bot"
    assert user.groups == (
        "ops",
        "system:serviceaccounts",
        "system:serviceaccounts:ns",
        "system:authenticated",
    )
    with pytest.raises(StatusError) as exc:
        impersonate(ALICE, [(b"impersonate-user", b"bob")], Chain([allow]))
    assert exc.value.message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope'
    )
    with pytest.raises(StatusError) as exc:
        impersonate(ALICE, [(b"impersonate-group", b"ops")], Chain([allow]))
    assert exc.value.code == 400
    assert impersonate(ALICE, [(b"x-other", b"1")], Chain([allow])) is ALICE


# ---- the node authorizer's relations ---------------------------------------------------------------------


def test_what_a_pod_refers_to() -> None:
    pod = {
        "spec": {
            "serviceAccountName": "app",
            "imagePullSecrets": [{"name": "pull"}],
            "containers": [{"name": "c", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}}],
                            "envFrom": [{"configMapRef": {"name": "env-cm"}}]}],
            "volumes": [{"name": "a", "secret": {"secretName": "vol-s"}}, {"name": "b", "configMap": {"name": "vol-cm"}},
                        {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
                        {"name": "d", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}}],
        }
    }  # fmt: skip
    assert references(pod) == {
        "secrets": {"pull", "env-s", "vol-s"},
        "configmaps": {"env-cm", "vol-cm", "kube-root-ca.crt"},
        "persistentvolumeclaims": {"data"},
        "serviceaccounts": {"app"},
    }


def test_node_authorizer() -> None:
    pods = [
        {"metadata": {"name": "a1", "namespace": "ns"}, "spec": {"nodeName": "a", "volumes": [{"name": "v", "secret": {"secretName": "s"}}]}},
        {"metadata": {"name": "b1", "namespace": "ns"}, "spec": {"nodeName": "b", "volumes": [{"name": "v", "secret": {"secretName": "t"}}]}},
    ]  # fmt: skip
    node = NodeAuthorizer(lambda ns: [p for p in pods if not ns or p["metadata"]["namespace"] == ns],
                          lambda ns, name: None, [rule(["get"], [""], ["services"])])  # fmt: skip
    kubelet = UserInfo("system:node:a", groups=("system:nodes",))
    assert node.authorize(attrs("GET", "/api/v1/namespaces/ns/secrets/s", user=kubelet))[0] is Decision.ALLOW
    decision, reason = node.authorize(attrs("GET", "/api/v1/namespaces/ns/secrets/t", user=kubelet))
    assert (decision, reason) == (
        Decision.NO_OPINION,
        "no relationship found between node 'a' and this object",
    )
    assert node.authorize(attrs("PUT", "/api/v1/namespaces/ns/secrets/s", user=kubelet))[1] == (
        "can only read resources of this type"
    )
    assert node.authorize(attrs("GET", "/api/v1/namespaces/ns/services/x", user=kubelet))[0] is Decision.ALLOW
    assert node.authorize(attrs("GET", "/api/v1/namespaces/ns/secrets/s"))[0] is Decision.NO_OPINION  # alice
    assert (
        node_name(kubelet) == "a" and node_name(UserInfo("system:node:a")) is None
    )  # the group is needed too
    assert split_service_account("system:serviceaccount:ns:sa") == ("ns", "sa")
    assert split_service_account("system:serviceaccount:ns") is None


# ---- ServiceAccount tokens -------------------------------------------------------------------------------


def test_tokens_are_bound_to_audience_time_and_key() -> None:
    issuer = TokenIssuer(new_key(), [], api_audiences=("https://kubernetes.default.svc",))
    token, expires = issuer.sign(namespace="ns", name="sa", uid="u1", audiences=("https://kubernetes.default.svc",),
                                 expiration=600, pod=("p", "pu"), node=("n", "nu"))  # fmt: skip
    claims = issuer.verify(token)
    assert (claims.namespace, claims.name, claims.uid, claims.pod_name, claims.node_name) == (
        "ns",
        "sa",
        "u1",
        "p",
        "n",
    )
    assert abs(expires - time.time() - 600) < 5
    user = claims.user()
    assert user.name == "system:serviceaccount:ns:sa"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("p",)
    with pytest.raises(InvalidToken):
        issuer.verify(token, ("another-audience",))
    old, _ = issuer.sign(namespace="ns", name="sa", uid="u1", audiences=("https://kubernetes.default.svc",),
                         expiration=600, now=time.time() - 3600)  # fmt: skip
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(old)
    stranger = TokenIssuer(new_key(), [], api_audiences=("https://kubernetes.default.svc",))
    with pytest.raises(InvalidToken):
        stranger.verify(token)  # signed by another key
    with pytest.raises(InvalidToken):
        issuer.verify(token[:-4] + "AAAA")  # tampered

"""Who may do what, seen through the real kubectl: anonymous callers are refused, the admin may do everything, a
ServiceAccount bound to `view` reads but does not write or read Secrets, `kubectl auth can-i` (with --as and
--list), `kubectl create token`, `kubectl auth whoami`, and the RBAC generators (their bodies are protobuf)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.harness import ApiServer
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.kube import write_kubeconfig
from tests.polling import wait_until

pytestmark = MARKS


def _forbidden(verb: str, resource: str, ns: str, user: str) -> str:
    return f'User "{user}" cannot {verb} resource "{resource}" in API group "" in the namespace "{ns}"'


@pytest.fixture
def viewer(kubectl: Kubectl, ns: str, apiserver: ApiServer, tmp_path: Path) -> Kubectl:
    """kubectl as the ServiceAccount `viewer` of the test's namespace, bound to the `view` ClusterRole, with a
    token from `kubectl create token`."""
    assert kubectl("create", "serviceaccount", "viewer").strip() == "serviceaccount/viewer created"
    kubectl("create", "rolebinding", "viewer-view", "--clusterrole=view", f"--serviceaccount={ns}:viewer")
    # RBAC is read from the apiserver's caches: a new binding holds a moment after it is written (as in Kubernetes).
    can = ("auth", "can-i", "list", "pods", "--as", f"system:serviceaccount:{ns}:viewer")
    wait_until(lambda: kubectl.run(*can).stdout.strip() == "yes", 10, 0.1, what="the binding to hold")
    token = kubectl("create", "token", "viewer", "--duration=15m").strip()
    assert token.count(".") == 2  # a JWT
    config = write_kubeconfig(tmp_path / "viewer", apiserver, ns, token=token)
    return Kubectl(kubeconfig=config, cache_dir=kubectl.cache_dir, namespace=ns)


def test_anonymous_requests_are_401_and_a_bad_token_is_refused(
    apiserver: ApiServer, kube: Kubectl, tmp_path: Path
) -> None:
    anonymous = httpx.get(f"{apiserver.url}/api/v1/namespaces/default/pods", verify=apiserver.ca_file)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }  # fmt: skip  (NewUnauthorized sets no details: Go leaves the field out)
    # Health and version answer anyone (system:public-info-viewer's paths), nothing else does.
    assert httpx.get(f"{apiserver.url}/readyz", verify=apiserver.ca_file).text == "ok"
    assert httpx.get(f"{apiserver.url}/version", verify=apiserver.ca_file).json()["minor"] == "32"
    assert httpx.get(f"{apiserver.url}/metrics", verify=apiserver.ca_file).status_code == 401
    stranger = Kubectl(write_kubeconfig(tmp_path / "bad", apiserver, token="not-a-token"), kube.cache_dir)
    err = stranger.fails("get", "pods")
    # kubectl's words for a 401 on discovery, as against kube-apiserver.
    assert err.strip().splitlines()[-1] == (
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
    ), err


def test_the_admin_may_do_everything(kube: Kubectl) -> None:
    assert kube("auth", "can-i", "*", "*", "--all-namespaces").strip() == "yes"
    who = kube("auth", "whoami", "-o", "json")
    info = json.loads(who)["status"]["userInfo"]
    assert info["username"] == "kubernetes-admin"
    assert info["groups"] == ["system:masters", "system:authenticated"]


def test_a_service_account_bound_to_view_reads_but_does_not_write(
    viewer: Kubectl, kubectl: Kubectl, api: Api, ns: str
) -> None:
    user = f"system:serviceaccount:{ns}:viewer"
    kubectl("run", "web", "--image=nginx:1.25")
    assert "web" in viewer("get", "pods")
    assert viewer.run("get", "pods", "web", "-o", "name").stdout.strip() == "pod/web"
    err = viewer.fails("create", "secret", "generic", "s", "--from-literal=a=b")
    assert f"secrets is forbidden: {_forbidden('create', 'secrets', ns, user)}" in err
    kubectl("create", "secret", "generic", "hidden", "--from-literal=a=b")
    err = viewer.fails("get", "secret", "hidden")
    assert err.strip() == (
        f'Error from server (Forbidden): secrets "hidden" is forbidden: {_forbidden("get", "secrets", ns, user)}'
    )
    err = viewer.fails("delete", "pod", "web")
    assert f'pods "web" is forbidden: {_forbidden("delete", "pods", ns, user)}' in err
    # Nor may it make itself someone else.
    err = viewer.fails("get", "pods", "--as", "kubernetes-admin")
    assert (
        f'users "kubernetes-admin" is forbidden: User "{user}" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    ) in err
    who = json.loads(viewer("auth", "whoami", "-o", "json"))["status"]["userInfo"]
    assert who["username"] == user
    assert who["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
    assert api.get(f"/api/v1/namespaces/{ns}/secrets/hidden")["data"] == {"a": "Yg=="}  # untouched


def test_can_i_with_as_and_list(viewer: Kubectl, kubectl: Kubectl, ns: str) -> None:
    user = f"system:serviceaccount:{ns}:viewer"
    assert kubectl("auth", "can-i", "list", "pods", "--as", user).strip() == "yes"
    assert kubectl("auth", "can-i", "get", "pods/log", "--as", user).strip() == "yes"
    refused = kubectl.run("auth", "can-i", "create", "secrets", "--as", user)
    assert (refused.returncode, refused.stdout.strip()) == (1, "no")
    assert kubectl.run("auth", "can-i", "get", "secrets", "--as", user).stdout.strip() == "no"
    # The ServiceAccount asks for itself (a SelfSubjectAccessReview).
    assert viewer("auth", "can-i", "watch", "deployments.apps").strip() == "yes"
    assert viewer.run("auth", "can-i", "create", "deployments.apps").stdout.strip() == "no"
    listing = kubectl("auth", "can-i", "--list", "--as", user)
    rows = {
        line.split()[0]: line[line.rindex("[") :].strip()  # the last column: the verbs
        for line in listing.splitlines()[1:]
        if not line.startswith(" ")
    }
    assert rows["pods"] == "[get list watch]"
    assert rows["deployments.apps"] == "[get list watch]"
    assert rows["selfsubjectaccessreviews.authorization.k8s.io"] == "[create]"
    assert "secrets" not in rows


def test_rbac_objects_with_kubectl_create(kubectl: Kubectl, api: Api, ns: str) -> None:
    assert kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods").strip() == (
        "role.rbac.authorization.k8s.io/pod-reader created"
    )
    kubectl("create", "rolebinding", "bob-reads", "--role=pod-reader", "--user=bob", "--group=devs")
    role = api.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/pod-reader")
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    table = kubectl("get", "rolebinding", "bob-reads", "-o", "wide").splitlines()
    assert table[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert table[1].split()[:2] == ["bob-reads", "Role/pod-reader"] and table[1].split()[3:] == [
        "bob",
        "devs",
    ]
    assert kubectl("auth", "can-i", "list", "pods", "--as", "bob").strip() == "yes"
    assert kubectl("auth", "can-i", "list", "pods", "--as", "alice", "--as-group", "devs").strip() == "yes"
    assert kubectl.run("auth", "can-i", "delete", "pods", "--as", "bob").stdout.strip() == "no"
    # A binding's role cannot be swapped for another.
    err = kubectl.fails(
        "patch",
        "rolebinding",
        "bob-reads",
        "--type=merge",
        "-p",
        '{"roleRef":{"name":"admin","kind":"ClusterRole"}}',
    )
    assert "roleRef: Invalid value" in err and "cannot change roleRef" in err


def test_cluster_roles_aggregate_into_view(kube: Kubectl, api: Api) -> None:
    view = api.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
    assert view["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}
    ]
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in view[
        "rules"
    ]
    assert not any("secrets" in rule.get("resources", []) for rule in view["rules"])
    edit = api.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/edit")
    assert any("secrets" in rule.get("resources", []) for rule in edit["rules"])
    table = kube("get", "clusterroles", "cluster-admin", "view").splitlines()
    assert table[0].split() == ["NAME", "CREATED", "AT"]


def test_token_review_tells_whose_token_it_is(
    viewer: Kubectl, kubectl: Kubectl, api: Api, ns: str, apiserver: ApiServer, tmp_path: Path
) -> None:
    token = kubectl("create", "token", "viewer", "--audience", "my-service").strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": token, "audiences": ["my-service"]}}  # fmt: skip
    status = api.create("/apis/authentication.k8s.io/v1/tokenreviews", review)["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == f"system:serviceaccount:{ns}:viewer"
    assert status["audiences"] == ["my-service"]
    # A token for another audience is not an API token: the apiserver refuses it.
    other = Kubectl(write_kubeconfig(tmp_path / "aud", apiserver, token=token), kubectl.cache_dir)
    assert "You must be logged in to the server" in other.fails("get", "pods")
    review["spec"] = {"token": token + "x"}
    assert (
        api.create("/apis/authentication.k8s.io/v1/tokenreviews", review)["status"]["authenticated"] is False
    )


def test_a_namespace_admin_cannot_grant_what_it_does_not_hold(
    kubectl: Kubectl, ns: str, apiserver: ApiServer, tmp_path: Path
) -> None:
    """RBAC's escalation check: `admin` in a namespace may write Roles and RoleBindings there, but not hand out
    cluster-admin nor rights it lacks itself."""
    kubectl("create", "rolebinding", "carol-admin", "--clusterrole=admin", "--user=carol")
    carol = Kubectl(
        write_kubeconfig(tmp_path / "carol", apiserver, ns, user="carol", groups=()), kubectl.cache_dir
    )
    assert carol("create", "role", "reader", "--verb=get", "--resource=pods").strip() == (
        "role.rbac.authorization.k8s.io/reader created"
    )
    carol("create", "rolebinding", "dave-reads", "--role=reader", "--user=dave")  # what she holds: fine
    carol("create", "rolebinding", "dave-views", "--clusterrole=view", "--user=dave")
    err = carol.fails("create", "rolebinding", "dave-root", "--clusterrole=cluster-admin", "--user=dave")
    assert (
        'rolebindings.rbac.authorization.k8s.io "dave-root" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:'
        in err
    )
    err = carol.fails("create", "role", "nodes", "--verb=get", "--resource=nodes")
    assert "is attempting to grant RBAC permissions not currently held" in err
    assert '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}' in err
    assert kubectl.run("auth", "can-i", "get", "nodes", "--as", "dave").stdout.strip() == "no"

"""kubectl get: server-side tables, wide columns, output formats, selectors, all namespaces and watch."""

from __future__ import annotations

import json

import yaml

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, running_status, table

pytestmark = MARKS


def _pods(api: Api, ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/pods"


def test_get_pods_table_and_wide(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(_pods(api, ns), factories.pod("web-1", {"app": "web"}, nodeName="node-a", image="nginx:1.25"))
    api.create(_pods(api, ns), factories.pod("web-2", {"app": "web"}, image="nginx:1.25"))
    api.merge_patch(f"{_pods(api, ns)}/web-1/status", running_status(ip="10.244.1.9"))

    out = kubectl("get", "pods")
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    got = {r["NAME"]: r for r in table(out)}
    assert (got["web-1"]["READY"], got["web-1"]["STATUS"], got["web-1"]["RESTARTS"]) == (
        "1/1",
        "Running",
        "0",
    )
    assert (got["web-2"]["READY"], got["web-2"]["STATUS"]) == ("0/1", "Pending")

    wide = {r["NAME"]: r for r in table(kubectl("get", "pods", "-o", "wide"))}
    stored = api.get(f"{_pods(api, ns)}/web-1")
    assert wide["web-1"]["IP"] == stored["status"]["podIP"] == "10.244.1.9"
    assert wide["web-1"]["NODE"] == stored["spec"]["nodeName"] == "node-a"
    assert wide["web-1"]["NOMINATED NODE"] == "<none>" and wide["web-1"]["READINESS GATES"] == "<none>"
    assert wide["web-2"]["IP"] == "<none>"

    one = table(kubectl("get", "pod", "web-1"))
    assert [r["NAME"] for r in one] == ["web-1"]


def test_get_missing_is_not_found(kubectl: Kubectl, ns: str) -> None:
    err = kubectl.fails("get", "pod", "nope")
    assert 'Error from server (NotFound): pods "nope" not found' in err
    empty = kubectl.run("get", "pods")
    assert empty.returncode == 0 and empty.stdout == ""
    assert f"No resources found in {ns} namespace." in empty.stderr


def test_get_several_types_at_once(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web", replicas=3))
    api.create(f"/api/v1/namespaces/{ns}/services", factories.service("web", {"app": "web"}))
    stored_svc = api.get(f"/api/v1/namespaces/{ns}/services/web")

    out = kubectl("get", "deploy,svc")
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    deploys, svcs = table(blocks[0]), table(blocks[1])
    assert deploys[0]["NAME"] == "deployment.apps/web"
    assert (deploys[0]["READY"], deploys[0]["UP-TO-DATE"], deploys[0]["AVAILABLE"]) == ("0/3", "0", "0")
    assert svcs[0]["NAME"] == "service/web"
    assert svcs[0]["TYPE"] == "ClusterIP"
    assert svcs[0]["CLUSTER-IP"] == stored_svc["spec"]["clusterIP"]
    assert svcs[0]["PORT(S)"] == "80/TCP"

    names = kubectl("get", "deploy,svc", "-o", "name").split()
    assert names == ["deployment.apps/web", "service/web"]

    wide = table(kubectl("get", "deploy", "-o", "wide"))[0]
    assert (wide["CONTAINERS"], wide["IMAGES"], wide["SELECTOR"]) == ("app", "nginx:1.25", "app=web")


def test_output_formats(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(_pods(api, ns), factories.pod("a", {"app": "web"}, image="busybox:1.36"))
    api.create(_pods(api, ns), factories.pod("b", {"app": "db"}, image="nginx:1.25"))
    stored = {p["metadata"]["name"]: p for p in api.get(_pods(api, ns))["items"]}

    as_json = json.loads(kubectl("get", "pods", "-o", "json"))
    assert as_json["kind"] == "List"
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in as_json["items"]} == {
        n: p["metadata"]["uid"] for n, p in stored.items()
    }
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in as_json["items"])

    single = yaml.safe_load(kubectl("get", "pod", "a", "-o", "yaml"))
    assert single["kind"] == "Pod"
    assert single["metadata"]["resourceVersion"] == stored["a"]["metadata"]["resourceVersion"]
    assert single["spec"]["containers"][0]["image"] == "busybox:1.36"

    as_yaml = yaml.safe_load(kubectl("get", "pods", "-o", "yaml"))
    assert as_yaml["kind"] == "List" and len(as_yaml["items"]) == 2

    assert kubectl("get", "pods", "-o", "name").split() == ["pod/a", "pod/b"]
    assert kubectl("get", "pod", "a", "-o", "jsonpath={.spec.containers[0].image}") == "busybox:1.36"
    assert kubectl("get", "pods", "-o", "jsonpath={.items[*].metadata.name}") == "a b"
    custom = table(kubectl("get", "pods", "-o", "custom-columns=N:.metadata.name,APP:.metadata.labels.app"))
    assert custom == [{"N": "a", "APP": "web"}, {"N": "b", "APP": "db"}]


def test_label_selectors(kubectl: Kubectl, api: Api, ns: str) -> None:
    labels = {
        "web": {"app": "web", "tier": "fe"},
        "api": {"app": "api", "tier": "be", "env": "prod"},
        "db": {"app": "db", "tier": "be", "env": "dev"},
        "bare": {},
    }
    for name, ls in labels.items():
        api.create(_pods(api, ns), factories.pod(name, ls, image="nginx:1.25"))

    def names(selector: str) -> set[str]:
        return {n.removeprefix("pod/") for n in kubectl("get", "pods", "-l", selector, "-o", "name").split()}

    assert names("app=web") == {"web"}
    assert names("tier!=fe") == {"api", "db", "bare"}
    assert names("app in (web,db)") == {"web", "db"}
    assert names("app notin (web,db)") == {"api", "bare"}
    assert names("env") == {"api", "db"}
    assert names("!env") == {"web", "bare"}
    assert names("tier=be,env notin (dev)") == {"api"}
    # The same selector through the API directly agrees.
    listed = api.http.get(_pods(api, ns), params={"labelSelector": "app in (web,db)"}).json()
    assert {p["metadata"]["name"] for p in listed["items"]} == {"web", "db"}

    out = kubectl("get", "pods", "-l", "tier=be", "--show-labels")
    shown = {r["NAME"]: r["LABELS"] for r in table(out)}
    assert shown == {"api": "app=api,env=prod,tier=be", "db": "app=db,env=dev,tier=be"}
    assert table(kubectl("get", "pods", "bare", "--show-labels"))[0]["LABELS"] == "<none>"


def test_field_selectors(kubectl: Kubectl, api: Api, ns: str) -> None:
    for name in ("one", "two", "three"):
        api.create(
            _pods(api, ns),
            factories.pod(name, nodeName="node-x" if name == "two" else None, image="nginx:1.25"),
        )
    api.merge_patch(f"{_pods(api, ns)}/one/status", running_status())

    def names(selector: str) -> list[str]:
        return kubectl("get", "pods", "--field-selector", selector, "-o", "name").split()

    assert names("metadata.name=two") == ["pod/two"]
    assert names("status.phase=Running") == ["pod/one"]
    assert names("status.phase!=Running") == ["pod/three", "pod/two"]
    assert names("spec.nodeName=node-x") == ["pod/two"]
    assert names("metadata.name!=one,status.phase=Pending") == ["pod/three", "pod/two"]
    err = kubectl.fails("get", "pods", "--field-selector", "spec.nosuch=1")
    assert "field label not supported" in err or "BadRequest" in err


def test_all_namespaces(kube: Kubectl, api: Api, ns: str) -> None:
    other = ns + "-b"
    api.create("/api/v1/namespaces", {"metadata": {"name": other}})
    try:
        api.create(_pods(api, ns), factories.pod("p1", {"suite": ns}, image="nginx:1.25"))
        api.create(_pods(api, other), factories.pod("p2", {"suite": ns}, image="nginx:1.25"))
        out = kube("get", "pods", "-A", "-l", f"suite={ns}")
        assert out.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
        assert {(r["NAMESPACE"], r["NAME"]) for r in table(out)} == {(ns, "p1"), (other, "p2")}
        listed = api.get(f"/api/v1/pods?labelSelector=suite%3D{ns}")
        assert len(listed["items"]) == 2
        assert {n["metadata"]["name"] for n in yaml.safe_load(kube("get", "ns", "-o", "yaml"))["items"]} >= {
            ns,
            other,
        }
    finally:
        api.delete(f"/api/v1/namespaces/{other}/pods/p2")
        api.delete(f"/api/v1/namespaces/{other}")


def test_get_watch_prints_new_rows(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(_pods(api, ns), factories.pod("before", image="nginx:1.25"))
    watch = kubectl.start("get", "pods", "-w")
    try:
        watch.wait_line(lambda line: line.startswith("before "))
        api.create(_pods(api, ns), factories.pod("after", image="nginx:1.25"))
        row = watch.wait_line(lambda line: line.startswith("after "))
        assert row.split()[1:3] == ["0/1", "Pending"]

        api.merge_patch(f"{_pods(api, ns)}/after/status", running_status())
        row = watch.wait_line(lambda line: line.startswith("after ") and "Running" in line)
        assert row.split()[1:3] == ["1/1", "Running"]
        assert watch.proc.poll() is None, "kubectl get -w exited while the watch was open"
        # the header is printed once, and no bogus rows (a stray BOOKMARK prints <unknown>)
        assert sum(1 for line in watch.lines if line.startswith("NAME ")) == 1
        assert not any("<unknown>" in line for line in watch.lines)
    finally:
        err = watch.stop()
    assert "error" not in err.lower(), err
    assert api.get(f"{_pods(api, ns)}/after")["status"]["phase"] == "Running"


def test_get_single_object_watch(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(_pods(api, ns), factories.pod("solo", image="nginx:1.25"))
    api.create(_pods(api, ns), factories.pod("noise", image="nginx:1.25"))
    watch = kubectl.start("get", "pod", "solo", "-w", "-o", "name")
    try:
        watch.wait_line(lambda line: line == "pod/solo")
        api.merge_patch(f"{_pods(api, ns)}/noise", {"metadata": {"labels": {"x": "1"}}})
        api.merge_patch(f"{_pods(api, ns)}/solo", {"metadata": {"labels": {"x": "1"}}})
        watch.wait_line(lambda line: line == "pod/solo")
        assert "pod/noise" not in watch.lines
    finally:
        watch.stop()


HEADERS = {
    "pods": "NAME READY STATUS RESTARTS AGE",
    "deployments": "NAME READY UP-TO-DATE AVAILABLE AGE",
    "replicasets": "NAME DESIRED CURRENT READY AGE",
    "services": "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
    "endpoints": "NAME ENDPOINTS AGE",
    "events": "LAST SEEN TYPE REASON OBJECT MESSAGE",
    "leases": "NAME HOLDER AGE",
    "configmaps": "NAME DATA AGE",
    "secrets": "NAME TYPE DATA AGE",
}


def test_table_columns_per_resource(kubectl: Kubectl, api: Api, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}"
    api.create(f"{base}/pods", factories.pod("p", image="nginx:1.25"))
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("d"))
    rs = factories.deployment("r")
    rs["kind"] = "ReplicaSet"
    api.create(f"/apis/apps/v1/namespaces/{ns}/replicasets", rs)
    api.create(f"{base}/services", factories.service("s", {"app": "x"}))
    api.create(
        f"{base}/endpoints",
        {
            "metadata": {"name": "s"},
            "subsets": [{"addresses": [{"ip": "10.1.0.5"}], "ports": [{"port": 8080}]}],
        },
    )
    involved = {"kind": "Pod", "name": "p", "namespace": ns}
    api.create(
        f"{base}/events",
        {"metadata": {"name": "e"}, "involvedObject": involved, "reason": "R", "message": "m"},
    )
    api.create(
        f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
        {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}},
    )
    api.create(f"{base}/configmaps", {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    api.create(f"{base}/secrets", {"metadata": {"name": "x"}, "data": {"k": "dg=="}})

    for resource, header in HEADERS.items():
        out = kubectl("get", resource)
        assert " ".join(out.splitlines()[0].split()) == header, (resource, out)
    assert table(kubectl("get", "endpoints"))[0]["ENDPOINTS"] == "10.1.0.5:8080"
    assert table(kubectl("get", "leases"))[0]["HOLDER"] == "me"
    assert table(kubectl("get", "cm", "c"))[0]["DATA"] == "2"
    assert table(kubectl("get", "secrets"))[0]["TYPE"] == "Opaque"

    out = kubectl("get", "all")
    assert "pod/p" in out and "deployment.apps/d" in out and "service/s" in out and "replicaset.apps/r" in out

    nodes = kubectl("get", "nodes")  # cluster-scoped; columns only
    assert nodes == "" or " ".join(nodes.splitlines()[0].split()) == "NAME STATUS ROLES AGE VERSION"
    namespaces = table(kubectl("get", "namespace", ns))
    assert namespaces[0]["STATUS"] == "Active"


def test_pagination_and_watch_events(kube: Kubectl, kubectl: Kubectl, api: Api, ns: str) -> None:
    for i in range(5):
        api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod(f"p{i}", image="nginx:1.25"))
    # --chunk-size makes kubectl page with limit/continue and stitch the pages into one table
    paged = table(kubectl("get", "pods", "--chunk-size=2"))
    assert [r["NAME"] for r in paged] == [f"p{i}" for i in range(5)]

    watch = kube.start("get", "pods", "-A", "-w", "--output-watch-events", "-l", f"suite={ns}")
    try:
        api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("w", {"suite": ns}, image="nginx:1.25"))
        added = watch.wait_line(lambda line: line.split()[:3] == ["ADDED", ns, "w"])
        assert "Pending" in added
        api.merge_patch(f"/api/v1/namespaces/{ns}/pods/w", {"metadata": {"labels": {"more": "1"}}})
        watch.wait_line(lambda line: line.split()[:3] == ["MODIFIED", ns, "w"])
        api.delete(f"/api/v1/namespaces/{ns}/pods/w")
        watch.wait_line(lambda line: line.split()[:3] == ["DELETED", ns, "w"])
    finally:
        watch.stop()
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/w") == 404

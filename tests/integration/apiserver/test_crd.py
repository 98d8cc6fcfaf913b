"""CustomResourceDefinitions over HTTP on a real apiserver and etcd: established and published within a second,
custom objects validated, defaulted, pruned, versioned, watched, scaled, and deleted with their CRD."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import factories
from tests.harness import ApiServer
from tests.integration.apiserver.crds import CRD, CRDS, as_group, conditions, crontab
from tests.polling import wait_until

pytestmark = pytest.mark.etcd

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client(timeout=10) as client:
        yield client


def test_established_and_published_within_a_second(api: httpx.Client) -> None:
    definition = CRD(api)
    start = time.monotonic()
    created = api.post(CRDS, json=definition.body)
    assert created.status_code == 201, created.text
    timings: dict[str, float] = {}
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    def published() -> bool:
        checks = {
            "established": lambda: (
                conditions(api.get(f"{CRDS}/{definition.name}").json()).get("Established") == "True"
            ),
            "discovery": lambda: api.get(f"/apis/{definition.group}/v1").status_code == 200,
            "aggregated": lambda: (
                definition.group
                in {
                    g["metadata"]["name"]
                    for g in api.get("/apis", headers={"Accept": aggregated}).json()["items"]
                }
            ),
            "openapi": lambda: f"apis/{definition.group}/v1" in api.get("/openapi/v3").json()["paths"],
        }
        for name, check in checks.items():
            if name not in timings and check():
                timings[name] = time.monotonic() - start
        return len(timings) == len(checks)

    try:
        wait_until(published, 5, interval=0.02, what="the CRD published")
        assert max(timings.values()) < 1.0, timings
        crd = api.get(f"{CRDS}/{definition.name}").json()
        assert conditions(crd) == {"NamesAccepted": "True", "Established": "True"}
        assert crd["status"]["acceptedNames"]["kind"] == "CronTab"
        assert crd["status"]["storedVersions"] == ["v1"]
        listed = api.get(f"/apis/{definition.group}/v1").json()["resources"]
        assert {r["name"] for r in listed} == {"crontabs", "crontabs/status", "crontabs/scale"}
        assert next(r for r in listed if r["name"] == "crontabs")["shortNames"] == ["ct"]
        group = api.get(f"/apis/{definition.group}").json()
        assert group["preferredVersion"]["version"] == "v1"
        assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    finally:
        definition.delete()
    assert api.get(f"/apis/{definition.group}/v1").status_code == 404
    assert f"apis/{definition.group}/v1" not in api.get("/openapi/v3").json()["paths"]


def test_objects_are_defaulted_pruned_and_validated(api: httpx.Client, crd: CRD, ns: str) -> None:
    body = as_group(crontab("a", unknown=1, extra={"kept": {"deep": True}}), crd.group)
    body["metadata"]["colour"] = "red"
    created = api.post(crd.path(namespace=ns), json=body)
    assert created.status_code == 201, created.text
    obj = created.json()
    assert obj["apiVersion"] == f"{crd.group}/v1" and obj["metadata"]["generation"] == 1
    assert obj["spec"] == {
        "cronSpec": "* * * * */5",
        "extra": {"kept": {"deep": True}},
        "replicas": 1,
        "policy": "Allow",
    }
    assert "colour" not in obj["metadata"]

    strict = api.post(
        crd.path(namespace=ns),
        params={"fieldValidation": "Strict"},
        json=as_group(crontab("b", x=1), crd.group),
    )
    assert strict.status_code == 400 and 'unknown field "spec.x"' in strict.json()["message"]

    bad = api.post(
        crd.path(namespace=ns), json=as_group(crontab("c", cronSpec="no", replicas="two"), crd.group)
    )
    assert bad.status_code == 422
    status = bad.json()
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "CronTab"
    assert status["details"]["group"] == crd.group
    causes = {c["field"]: c["message"] for c in status["details"]["causes"]}
    assert causes["spec.replicas"] == (
        'Invalid value: "string": spec.replicas in body must be of type integer: "string"'
    )
    assert causes["spec.cronSpec"].startswith('Invalid value: "no": spec.cronSpec in body should match')
    assert '"c" is invalid: ' in status["message"]

    smp = api.patch(
        crd.path(namespace=ns, name="a"),
        content=b'{"spec":{"image":"x"}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert smp.status_code == 415
    merged = api.patch(
        crd.path(namespace=ns, name="a"),
        content=b'{"spec":{"image":"x","replicas":-1}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merged.status_code == 422, "the patched object is validated too"
    listed = api.get(crd.path(namespace=ns)).json()
    assert listed["kind"] == "CronTabList" and [o["metadata"]["name"] for o in listed["items"]] == ["a"]


def test_status_and_scale_subresources(api: httpx.Client, crd: CRD, ns: str) -> None:
    body = as_group(crontab("s", replicas=2), crd.group)
    body["status"] = {"replicas": 9}
    obj = api.post(crd.path(namespace=ns), json=body).json()
    assert "status" not in obj, "status is set through /status only"
    merge = {"Content-Type": "application/merge-patch+json"}
    item = crd.path(namespace=ns, name="s")

    patched = api.patch(
        f"{item}/status", content=b'{"status":{"replicas":2,"selector":"app=s"}}', headers=merge
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == {"replicas": 2, "selector": "app=s"}
    assert patched.json()["metadata"]["generation"] == 1, "a status change is not a new generation"
    ignored = api.patch(
        item, content=b'{"status":{"replicas":5},"spec":{"image":"v2"}}', headers=merge
    ).json()
    assert ignored["status"]["replicas"] == 2 and ignored["metadata"]["generation"] == 2

    scale = api.get(f"{item}/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 2, "selector": "app=s"}
    scaled = api.patch(f"{item}/scale", content=b'{"spec":{"replicas":4}}', headers=merge)
    assert scaled.status_code == 200 and scaled.json()["spec"]["replicas"] == 4
    assert api.get(item).json()["spec"]["replicas"] == 4


def test_versions_share_one_storage(api: httpx.Client, crd: CRD, ns: str) -> None:
    created = api.post(crd.path("v1beta1", ns), json=as_group(crontab("v"), crd.group, "v1beta1"))
    assert created.status_code == 201, created.text
    assert created.json()["apiVersion"] == f"{crd.group}/v1beta1"
    as_v1 = api.get(crd.path("v1", ns, "v")).json()
    assert as_v1["apiVersion"] == f"{crd.group}/v1"
    assert as_v1["metadata"]["uid"] == created.json()["metadata"]["uid"]
    listed = api.get(crd.path("v1beta1", ns)).json()
    assert [o["apiVersion"] for o in listed["items"]] == [f"{crd.group}/v1beta1"]
    wrong = api.post(crd.path("v1", ns), json=as_group(crontab("w"), crd.group, "v1beta1"))
    assert wrong.status_code == 400


def test_watch_reports_changes(api: httpx.Client, crd: CRD, ns: str) -> None:
    start = api.get(crd.path(namespace=ns)).json()["metadata"]["resourceVersion"]
    api.post(crd.path(namespace=ns), json=as_group(crontab("w"), crd.group))
    api.patch(
        crd.path(namespace=ns, name="w"),
        content=b'{"spec":{"image":"v2"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    api.delete(crd.path(namespace=ns, name="w"))
    seen: list[tuple[str, str]] = []
    params = {"watch": "true", "resourceVersion": start, "timeoutSeconds": "5"}
    with api.stream("GET", crd.path("v1beta1", ns), params=params) as stream:
        for line in stream.iter_lines():
            event = json.loads(line)
            seen.append((event["type"], event["object"]["apiVersion"]))
            if len(seen) == 3:
                break
    version = f"{crd.group}/v1beta1"
    assert seen == [("ADDED", version), ("MODIFIED", version), ("DELETED", version)]


def test_table_has_the_printer_columns(api: httpx.Client, crd: CRD, ns: str) -> None:
    api.post(crd.path(namespace=ns), json=as_group(crontab("t", image="img"), crd.group))
    table = api.get(crd.path(namespace=ns), headers={"Accept": TABLE}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Spec", "Replicas", "Image", "Age"]
    assert table["rows"][0]["cells"][:4] == ["t", "* * * * */5", 1, "img"]


def test_cluster_scoped_custom_resources(api: httpx.Client) -> None:
    definition = CRD(api, scope="Cluster")
    definition.create()
    try:
        created = api.post(definition.path(), json=as_group(crontab("global"), definition.group))
        assert created.status_code == 201, created.text
        assert "namespace" not in created.json()["metadata"]
        assert api.get(definition.path(name="global")).status_code == 200
        assert api.get(definition.path(namespace="default")).status_code == 404
    finally:
        definition.delete()


def test_deleting_a_crd_deletes_its_objects(api: httpx.Client, ns: str) -> None:
    definition = CRD(api)
    definition.create()
    for namespace in (ns, "default"):
        assert api.post(
            definition.path(namespace=namespace), json=as_group(crontab("x"), definition.group)
        ).is_success
    api.delete(f"{CRDS}/{definition.name}")
    wait_until(lambda: api.get(f"{CRDS}/{definition.name}").status_code == 404, 10, what="the CRD gone")
    definition.create()  # the same names again: nothing of the old objects is left
    try:
        assert api.get(definition.path()).json()["items"] == []
    finally:
        definition.delete()


def test_naming_conflicts_are_reported(api: httpx.Client, crd: CRD) -> None:
    other = factories.crontab_crd(group=crd.group, plural="crontabs2", short_names=())
    assert api.post(CRDS, json=other).status_code == 201
    name = other["metadata"]["name"]
    try:
        found = wait_until(
            lambda: (
                conditions(api.get(f"{CRDS}/{name}").json()).get("NamesAccepted") == "False"
                and api.get(f"{CRDS}/{name}").json()
            ),
            5,
            what="the conflict reported",
        )
        assert conditions(found)["Established"] == "False"
        assert api.get(f"/apis/{crd.group}/v1/crontabs2").status_code == 404
    finally:
        api.delete(f"{CRDS}/{name}")
        wait_until(lambda: api.get(f"{CRDS}/{name}").status_code == 404, 10, what="the CRD gone")


def test_invalid_crd_is_refused(api: httpx.Client) -> None:
    body = factories.crontab_crd(group="nodots")
    refused = api.post(CRDS, json=body)
    assert refused.status_code == 422
    assert "spec.group" in {c["field"] for c in refused.json()["details"]["causes"]}


def test_custom_resources_survive_a_restart(private_apiserver: ApiServer) -> None:
    with private_apiserver.client(timeout=10) as api:
        definition = CRD(api)
        definition.create()
        assert api.post(
            definition.path(namespace="default"), json=as_group(crontab("kept"), definition.group)
        )
    private_apiserver.restart()
    with private_apiserver.client(timeout=10) as api:
        # Ready means the CRDs that exist are served again.
        assert api.get(definition.path(namespace="default", name="kept")).status_code == 200
        assert api.get(f"/apis/{definition.group}/v1").status_code == 200


def test_a_crd_waits_for_objects_held_by_finalizers_across_a_restart(private_apiserver: ApiServer) -> None:
    with private_apiserver.client(timeout=10) as api:
        definition = CRD(api)
        definition.create()
        wait_until(
            lambda: api.get("/api/v1/namespaces/default").status_code == 200, 10, what="namespace default"
        )
        held = as_group(crontab("held"), definition.group)
        held["metadata"]["finalizers"] = ["example.com/hold"]
        assert api.post(definition.path(namespace="default"), json=held).status_code == 201
        api.delete(f"{CRDS}/{definition.name}")
        item = definition.path(namespace="default", name="held")
        wait_until(
            lambda: api.get(item).json()["metadata"].get("deletionTimestamp"), 10, what="object deleting"
        )
        crd = api.get(f"{CRDS}/{definition.name}").json()
        assert crd["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
        assert conditions(crd)["Terminating"] == "True"
    private_apiserver.restart()
    with private_apiserver.client(timeout=10) as api:
        assert api.get(item).status_code == 200, "still served while its CRD waits for it"
        api.patch(
            item,
            content=b'{"metadata":{"finalizers":null}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        wait_until(lambda: api.get(f"{CRDS}/{definition.name}").status_code == 404, 10, what="the CRD gone")
        assert api.get(f"/apis/{definition.group}/v1").status_code == 404

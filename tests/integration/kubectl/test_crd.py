"""CustomResourceDefinitions with the real kubectl: apply a CRD, create, list (printer columns), validate (422 with
the field path), patch status, scale, watch and explain custom objects, and delete the CRD with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import yaml

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, table

pytestmark = MARKS

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Group:
    """A CRD group of the test's own (the session's etcd is shared)."""

    def __init__(self) -> None:
        self.name = f"k{uuid.uuid4().hex[:8]}.example.com"
        self.crd = factories.crontab_crd(group=self.name)
        self.crd_name = self.crd["metadata"]["name"]

    def crontab(self, name: str, **spec: object) -> str:
        return yaml.safe_dump(
            {
                "apiVersion": f"{self.name}/v1",
                "kind": "CronTab",
                "metadata": {"name": name},
                "spec": {"cronSpec": "* * * * */5", **spec},
            }
        )


@pytest.fixture
def group(kube: Kubectl, api: Api) -> Iterator[Group]:
    g = Group()
    kube("apply", "-f", "-", stdin=yaml.safe_dump(g.crd))
    kube("wait", "--for=condition=Established", f"crd/{g.crd_name}", "--timeout=10s")
    yield g
    api.delete(f"{CRDS}/{g.crd_name}")


def test_apply_create_list_and_validate(kubectl: Kubectl, group: Group, api: Api, ns: str) -> None:
    crd = api.get(f"{CRDS}/{group.crd_name}")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    out = kubectl("apply", "-f", "-", stdin=group.crontab("nightly", image="backup:1"))
    assert out.strip() == f"crontab.{group.name}/nightly created"
    kubectl("create", "-f", "-", stdin=group.crontab("hourly", replicas=3))

    rows = table(kubectl("get", f"crontabs.{group.name}"))
    assert [r["NAME"] for r in rows] == ["hourly", "nightly"]
    assert set(rows[0]) == {"NAME", "SPEC", "REPLICAS", "AGE"}, "Image is a wide column"
    assert (rows[0]["SPEC"], rows[0]["REPLICAS"], rows[1]["REPLICAS"]) == ("* * * * */5", "3", "1")
    wide = table(kubectl("get", f"ct.{group.name}", "-o", "wide"))
    assert [r["IMAGE"] for r in wide] == ["", "backup:1"], "a missing value is a null cell, printed empty"
    stored = api.get(f"/apis/{group.name}/v1/namespaces/{ns}/crontabs/nightly")
    assert stored["spec"]["policy"] == "Allow", "defaulted"

    err = kubectl.fails("apply", "-f", "-", stdin=group.crontab("bad", replicas="three", cronSpec="x"))
    assert 'The CronTab "bad" is invalid' in err
    assert (
        '* spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'
        in err
    )
    assert '* spec.cronSpec: Invalid value: "x": spec.cronSpec in body should match' in err
    unknown = kubectl.fails("apply", "-f", "-", stdin=group.crontab("odd", colour="red"))
    assert 'unknown field "spec.colour"' in unknown, "kubectl's strict validation, answered by the server"


def test_status_scale_and_watch(kubectl: Kubectl, group: Group, api: Api, ns: str) -> None:
    kubectl("apply", "-f", "-", stdin=group.crontab("job"))
    resource = f"crontabs.{group.name}"
    watch = kubectl.start("get", resource, "--watch", "--output-watch-events", "--no-headers")
    try:
        watch.wait_line(lambda line: line.split()[:2] == ["ADDED", "job"])
        kubectl(
            "patch",
            resource,
            "job",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"replicas":1}}',
        )
        status = api.get(f"/apis/{group.name}/v1/namespaces/{ns}/crontabs/job")["status"]
        assert status == {"replicas": 1}
        kubectl("scale", resource, "job", "--replicas=4")
        # EVENT NAME SPEC (five words) REPLICAS AGE
        watch.wait_line(lambda line: line.split()[:2] == ["MODIFIED", "job"] and line.split()[-2] == "4")
        kubectl("delete", resource, "job")
        watch.wait_line(lambda line: line.split()[:2] == ["DELETED", "job"])
    finally:
        watch.stop()


def test_explain_custom_kind(kube: Kubectl, group: Group) -> None:
    # explain's argument is RESOURCE.FIELD...: the group goes in --api-version.
    text = kube("explain", "crontabs.spec", f"--api-version={group.name}/v1")
    assert f"GROUP:      {group.name}" in text and "KIND:       CronTab" in text
    assert "cronSpec\t<string> -required-" in text
    assert "The schedule, in cron format." in text
    assert "replicas\t<integer>" in text
    top = kube("explain", "crontabs", f"--api-version={group.name}/v1")
    assert "CronTab runs a command on a schedule." in top and "metadata\t<ObjectMeta>" in top


def test_a_warm_discovery_cache_finds_a_new_crd(kube: Kubectl, api: Api) -> None:
    kube("get", "namespaces")  # the cache now holds discovery without the new group
    fresh = Group()
    kube("apply", "-f", "-", stdin=yaml.safe_dump(fresh.crd))
    try:
        assert "No resources found" in kube.run("get", f"crontabs.{fresh.name}", "-A").stderr
        names = kube("api-resources", f"--api-group={fresh.name}", "-o", "name").split()
        assert names == [f"crontabs.{fresh.name}"]
    finally:
        api.delete(f"{CRDS}/{fresh.crd_name}")


def test_deleting_the_crd_deletes_its_objects(kube: Kubectl, api: Api, ns: str) -> None:
    g = Group()
    kube("apply", "-f", "-", stdin=yaml.safe_dump(g.crd))
    kube("wait", "--for=condition=Established", f"crd/{g.crd_name}", "--timeout=10s")
    kube("-n", ns, "apply", "-f", "-", stdin=g.crontab("doomed"))
    out = kube("delete", "crd", g.crd_name)
    assert out.strip() == f'customresourcedefinition.apiextensions.k8s.io "{g.crd_name}" deleted'
    kube("wait", "--for=delete", f"crd/{g.crd_name}", "--timeout=10s")
    kube("apply", "-f", "-", stdin=yaml.safe_dump(g.crd))
    try:
        kube("wait", "--for=condition=Established", f"crd/{g.crd_name}", "--timeout=10s")
        assert api.get(f"/apis/{g.name}/v1/crontabs")["items"] == []
    finally:
        api.delete(f"{CRDS}/{g.crd_name}")

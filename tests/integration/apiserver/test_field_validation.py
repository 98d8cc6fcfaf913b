"""Unknown fields as kube-apiserver treats them: `fieldValidation=Strict` refuses them (400, every field named),
`Warn` (also the default when the parameter is absent) drops them and says so in `Warning` headers, `Ignore` drops
them silently; for create, update, the three patch types and /status, for built-in kinds and custom resources.
Server-side apply refuses them whatever the directive ("field not declared in schema")."""

from __future__ import annotations

import json

import httpx
import pytest

from tests import factories
from tests.factories import Obj
from tests.integration.apiserver.crds import CRD, as_group, crontab

pytestmark = pytest.mark.etcd

MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def warnings_of(r: httpx.Response) -> list[str]:
    """The texts of the response's `Warning: 299 - "..."` headers, unquoted."""
    out = []
    for value in r.headers.get_list("warning"):
        assert value.startswith('299 - "') and value.endswith('"'), value
        out.append(value[len('299 - "') : -1].replace('\\"', '"'))
    return out


def with_unknown(name: str) -> Obj:
    obj = factories.deployment(name, replicas=1, image="busybox:1", labelled=False)
    obj["spec"]["bogus"] = 1
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    return obj


# In document order: `bogus` was added after `template`.
UNKNOWN = ['unknown field "spec.template.spec.containers[0].imagee"', 'unknown field "spec.bogus"']


@pytest.fixture
def deployments(api: httpx.Client, ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments"


def _stored_clean(api: httpx.Client, path: str) -> None:
    stored = api.get(path).json()
    assert "bogus" not in stored["spec"]
    assert "imagee" not in stored["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore", None])
def test_create(api: httpx.Client, deployments: str, directive: str | None) -> None:
    params = {"fieldValidation": directive} if directive else {}
    r = api.post(deployments, json=with_unknown("web"), params=params)
    if directive == "Strict":
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["reason"] == "BadRequest"
        assert body["message"] == "strict decoding error: " + ", ".join(UNKNOWN)
        assert api.get(f"{deployments}/web").status_code == 404
        return
    assert r.status_code == 201, r.text
    assert warnings_of(r) == ([] if directive == "Ignore" else UNKNOWN)
    _stored_clean(api, f"{deployments}/web")


@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore"])
def test_update(api: httpx.Client, deployments: str, directive: str) -> None:
    created = api.post(
        deployments, json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False)
    ).json()
    body = with_unknown("web")
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    r = api.put(f"{deployments}/web", json=body, params={"fieldValidation": directive})
    if directive == "Strict":
        assert r.status_code == 400 and r.json()["message"] == "strict decoding error: " + ", ".join(UNKNOWN)
        return
    assert r.status_code == 200, r.text
    assert warnings_of(r) == ([] if directive == "Ignore" else UNKNOWN)
    _stored_clean(api, f"{deployments}/web")


PATCHES = {
    MERGE: {"spec": {"bogus": 1, "paused": True}},
    SMP: {"spec": {"bogus": 1, "paused": True}},
    JSON_PATCH: [
        {"op": "add", "path": "/spec/bogus", "value": 1},
        {"op": "add", "path": "/spec/paused", "value": True},
    ],
}


@pytest.mark.parametrize("ptype", list(PATCHES))
@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore", None])
def test_patch(api: httpx.Client, deployments: str, ptype: str, directive: str | None) -> None:
    api.post(deployments, json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False))
    params = {"fieldValidation": directive} if directive else {}
    r = api.patch(
        f"{deployments}/web",
        content=json.dumps(PATCHES[ptype]),
        headers={"Content-Type": ptype},
        params=params,
    )
    stored = api.get(f"{deployments}/web").json()
    if directive == "Strict":
        assert r.status_code == 400, r.text
        assert r.json()["message"] == 'strict decoding error: unknown field "spec.bogus"'
        assert not stored["spec"].get("paused"), "nothing of a refused patch is stored"
        return
    assert r.status_code == 200, r.text
    assert warnings_of(r) == ([] if directive == "Ignore" else ['unknown field "spec.bogus"'])
    assert stored["spec"]["paused"] is True and "bogus" not in stored["spec"]


def test_status_subresource_prunes(api: httpx.Client, deployments: str) -> None:
    api.post(deployments, json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False))
    r = api.patch(
        f"{deployments}/web/status",
        content=json.dumps({"status": {"observedGeneration": 1, "madeUp": "x"}}),
        headers={"Content-Type": MERGE},
    )
    assert r.status_code == 200, r.text
    assert warnings_of(r) == ['unknown field "status.madeUp"']
    assert "madeUp" not in api.get(f"{deployments}/web").json()["status"]


@pytest.mark.parametrize("directive", ["Strict", "Ignore"])
def test_apply_refuses_unknown_fields(api: httpx.Client, deployments: str, ns: str, directive: str) -> None:
    r = api.patch(
        f"{deployments}/web",
        content=json.dumps(with_unknown("web")),
        headers={"Content-Type": APPLY},
        params={"fieldManager": "test", "fieldValidation": directive},
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"] == (
        f"failed to create typed patch object ({ns}/web; apps/v1, Kind=Deployment): errors:\n"
        "  .spec.template.spec.containers[0].imagee: field not declared in schema\n"
        "  .spec.bogus: field not declared in schema"
    )
    assert api.get(f"{deployments}/web").status_code == 404


def test_unsupported_directive_is_422(api: httpx.Client, deployments: str) -> None:
    r = api.post(
        deployments,
        json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False),
        params={"fieldValidation": "Loud"},
    )
    assert r.status_code == 422, r.text
    cause = r.json()["details"]["causes"][0]
    assert cause["field"] == "fieldValidation"
    assert cause["message"] == 'Unsupported value: "Loud": supported values: "Ignore", "Strict", "Warn"'


def test_custom_resource(api: httpx.Client, crd: CRD, ns: str) -> None:
    body = as_group(crontab("c1", colour="red"), crd.group)
    strict = api.post(crd.path(namespace=ns), json=body, params={"fieldValidation": "Strict"})
    assert strict.status_code == 400 and strict.json()["message"].endswith('unknown field "spec.colour"')
    warned = api.post(crd.path(namespace=ns), json=body)
    assert warned.status_code == 201, warned.text
    assert warnings_of(warned) == ['unknown field "spec.colour"']
    assert "colour" not in api.get(crd.path(namespace=ns, name="c1")).json()["spec"]
    patched = api.patch(
        crd.path(namespace=ns, name="c1"),
        content=json.dumps({"spec": {"colour": "blue"}}),
        headers={"Content-Type": MERGE},
        params={"fieldValidation": "Ignore"},
    )
    assert patched.status_code == 200 and warnings_of(patched) == []
    assert "colour" not in patched.json()["spec"]
    kept = api.post(
        crd.path(namespace=ns),
        json=as_group(crontab("c2", extra={"anything": {"goes": 1}}), crd.group),
        params={"fieldValidation": "Strict"},
    )
    assert kept.status_code == 201 and warnings_of(kept) == [], (
        "x-kubernetes-preserve-unknown-fields keeps them"
    )
    assert kept.json()["spec"]["extra"] == {"anything": {"goes": 1}}

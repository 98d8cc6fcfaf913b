"""A uid in an update or patch is a precondition: a write meant for an object that was deleted and recreated under
the same name (a StatefulSet member, a kubelet's status write) is refused with 409 instead of landing on the new
one."""

from __future__ import annotations

import json

import pytest

from tests import factories

pytestmark = pytest.mark.etcd

MERGE = {"Content-Type": "application/merge-patch+json"}


def test_status_patch_with_the_old_uid_is_refused(api, ns):
    path = f"/api/v1/namespaces/{ns}/pods/p"
    first = api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("p")).json()
    assert api.delete(path, params={"gracePeriodSeconds": 0}).status_code == 200
    second = api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("p")).json()
    stale = {"metadata": {"uid": first["metadata"]["uid"]}, "status": {"phase": "Failed"}}
    r = api.patch(path + "/status", content=json.dumps(stale), headers=MERGE)
    assert r.status_code == 409, r.text
    assert (
        r.json()["reason"] == "Conflict" and "Precondition failed: UID in precondition" in r.json()["message"]
    )
    assert api.get(path).json()["status"]["phase"] == "Pending"
    fresh = {"metadata": {"uid": second["metadata"]["uid"]}, "status": {"phase": "Running"}}
    r = api.patch(path + "/status", content=json.dumps(fresh), headers=MERGE)
    assert r.status_code == 200 and r.json()["status"]["phase"] == "Running"
    body = api.get(path).json()
    body["metadata"]["uid"] = first["metadata"]["uid"]
    assert api.put(path, json=body).status_code == 409

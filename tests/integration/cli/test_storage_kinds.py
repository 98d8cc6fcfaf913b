"""kctl with the storage kinds: `get pv,pvc,sc` in kubectl's columns and the describe pages."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.etcd


def test_get_and_describe_storage(kctl, api, ns):
    cls, pv = f"cls-{uuid.uuid4().hex[:6]}", f"pv-{uuid.uuid4().hex[:6]}"
    api.post("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": cls},
        "provisioner": "kubelite.io/local-path", "volumeBindingMode": "WaitForFirstConsumer",
        "parameters": {"maxSize": "1Gi"},
    })  # fmt: skip
    api.post("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
        "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                 "storageClassName": cls, "hostPath": {"path": "/srv/data"}},
    })  # fmt: skip
    api.post(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"storageClassName": cls, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })  # fmt: skip
    try:
        out = kctl("get", "pv,pvc,sc")
        assert out.code == 0, out
        lines = out.out.splitlines()
        assert lines[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
                                    "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]  # fmt: skip
        row = next(line.split() for line in lines if line.startswith(f"persistentvolume/{pv}"))
        assert row[1:5] == ["2Gi", "RWO,ROX", "Retain", "Pending"] or row[1:5] == [
            "2Gi",
            "RWO,ROX",
            "Retain",
            "Available",
        ]
        claim = next(line.split() for line in lines if line.startswith("persistentvolumeclaim/data"))
        assert claim[1:3] == ["Pending", cls]
        assert any(line.startswith(f"storageclass.storage.k8s.io/{cls} ") for line in lines)
        page = kctl("describe", "pvc", "data").out
        assert "Status:        Pending" in page and "Used By:       <none>" in page
        page = kctl("describe", "pv", pv).out
        assert "HostPath (bare host directory volume)" in page and "Access Modes:    RWO,ROX" in page
        page = kctl("describe", "sc", cls).out
        assert "Parameters:            maxSize=1Gi" in page and "IsDefaultClass:        No" in page
    finally:
        api.http.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data")
        api.http.delete(f"/api/v1/persistentvolumes/{pv}")
        api.http.delete(f"/apis/storage.k8s.io/v1/storageclasses/{cls}")

"""A CustomResourceDefinition of a group of its own for the apiserver tests (`CRD`; the `crd` fixture is in
conftest.py), and objects of its kind."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests import factories
from tests.factories import Obj
from tests.polling import wait_until

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def conditions(crd: Obj) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}


class CRD:
    """A CRD of a group of its own (the session's etcd is shared), created and, at the end, deleted."""

    def __init__(self, api: httpx.Client, scope: str = "Namespaced") -> None:
        self.api = api
        self.group = f"t{uuid.uuid4().hex[:8]}.example.com"
        self.body = factories.crontab_crd(group=self.group, scope=scope)
        self.name = self.body["metadata"]["name"]

    def path(self, version: str = "v1", namespace: str | None = None, name: str = "") -> str:
        base = f"/apis/{self.group}/{version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        return f"{base}/crontabs" + (f"/{name}" if name else "")

    def create(self) -> Obj:
        created = self.api.post(CRDS, json=self.body)
        assert created.status_code == 201, created.text
        return wait_until(lambda: self._established(), 5, what="the CRD established")

    def _established(self) -> Obj | None:
        crd = self.api.get(f"{CRDS}/{self.name}").json()
        return crd if conditions(crd).get("Established") == "True" else None

    def delete(self) -> None:
        self.api.delete(f"{CRDS}/{self.name}")
        wait_until(lambda: self.api.get(f"{CRDS}/{self.name}").status_code == 404, 10, what="the CRD gone")


def crontab(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "stable.example.com/v1",
        "kind": "CronTab",
        "metadata": {"name": name},
        "spec": {"cronSpec": "* * * * */5", **spec},
    }


def as_group(obj: Obj, group: str, version: str = "v1") -> Obj:
    return {**obj, "apiVersion": f"{group}/{version}"}

"""ConfigMaps and Secrets served through the API client's transport seam (httpx.MockTransport), for the unit tests
of the kubelet's env and volumes; the e2e tests run the same code against the real apiserver."""

from __future__ import annotations

import base64
import re

import httpx

from apimachinery.client import Client

_PATH = re.compile(r"/api/v1/namespaces/([^/]+)/(configmaps|secrets)/([^/]+)")


def secret(**values: str) -> dict:
    return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def objects_client(store: dict[tuple[str, str, str], dict], reads: list[str] | None = None) -> Client:
    """A client whose GETs of configmaps and secrets answer from `store` ((resource, namespace, name) -> object),
    read at request time, so a test can change an object between syncs; everything else is 404."""

    def answer(request: httpx.Request) -> httpx.Response:
        match = _PATH.fullmatch(request.url.path)
        if match and request.method == "GET":
            namespace, resource, name = match.groups()
            if reads is not None:
                reads.append(f"{resource}/{name}")
            obj = store.get((resource, namespace, name))
            if obj is not None:
                return httpx.Response(200, json={"metadata": {"name": name, "namespace": namespace}, **obj})
            message = f'{resource} "{name}" not found'
        else:
            message = "not served here"
        return httpx.Response(
            404, json={"kind": "Status", "code": 404, "reason": "NotFound", "message": message}
        )

    return Client("https://apiserver.test", transport=httpx.MockTransport(answer))

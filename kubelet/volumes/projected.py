"""projected volumes: several sources in one directory, above all the `kube-api-access-*` volume that gives every
pod its API credentials (/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}).

Sources: serviceAccountToken (a TokenRequest bound to the pod, reused until 80% of its life has passed, then
requested again, as the kubelet's token manager does), configMap and secret (items, optional) and downwardAPI.
Two sources may not write the same path.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from apimachinery.client import ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.resources import must_resource
from apimachinery.timefmt import parse_time_or_none
from apimachinery.writerpool import WriterPool
from kubelet.volumes import downward
from kubelet.volumes.atomic import PathError, Payload
from kubelet.volumes.sources import ConfigError, ObjectCache, default_mode, key_files

Obj = dict[str, Any]
SERVICE_ACCOUNTS = must_resource("", "serviceaccounts")
REFRESH_AT = 0.8  # of a token's lifetime


class Tokens:
    """ServiceAccount tokens of the pods' projected volumes, by (pod uid, volume, path)."""

    def __init__(self, writers: WriterPool) -> None:
        self.writers = (
            writers  # token requests are writes: a burst of new pods does not open a connection each
        )
        self.issued: dict[tuple[str, str, str], tuple[float, float, str]] = {}  # -> (issued, expires, token)

    async def get(self, pod: Obj, volume: str, spec: Obj) -> str:
        key = (pod["metadata"].get("uid", ""), volume, str(spec.get("path") or "token"))
        held = self.issued.get(key)
        if held is not None and held[0] + REFRESH_AT * (held[1] - held[0]) > time.time():
            return held[2]
        token, expires = await self._request(pod, spec)
        self.issued[key] = (time.time(), expires, token)
        return token

    def forget(self, uid: str) -> None:
        for key in [k for k in self.issued if k[0] == uid]:
            del self.issued[key]

    async def _request(self, pod: Obj, spec: Obj) -> tuple[str, float]:
        md = pod["metadata"]
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        request: Obj = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": account},
            "spec": {
                "expirationSeconds": int(spec.get("expirationSeconds") or 3600),
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": md["name"], "uid": md["uid"]},
            },
        }
        if spec.get("audience"):
            request["spec"]["audiences"] = [spec["audience"]]
        try:
            async with self.writers.borrow() as writer:
                answer = await writer.create(
                    SERVICE_ACCOUNTS, request, md.get("namespace"), subresource="token"
                )
        except StatusError as exc:
            raise ConfigError(f"failed to fetch token: {exc.message}") from exc
        except ClientConnectionError as exc:
            raise ConfigError(f"failed to fetch token: {exc}") from exc
        status = answer.get("status") or {}
        return str(status.get("token") or ""), _epoch(status.get("expirationTimestamp")) or time.time() + 3600


async def payload(
    objects: ObjectCache, tokens: Tokens, pod: Obj, volume: Obj, allocatable: dict[str, str]
) -> Payload:
    projected = volume.get("projected") or {}
    mode = default_mode(projected)
    sources = [s if isinstance(s, dict) else {} for s in projected.get("sources") or []]
    # The sources are read at once (a token request and a ConfigMap read are two API round trips, not one after
    # the other); the first failing source, in order, is the error.
    got = await asyncio.gather(
        *(_source_files(objects, tokens, pod, volume, s, mode, allocatable) for s in sources),
        return_exceptions=True,
    )
    out: Payload = {}
    for files in got:
        if isinstance(files, BaseException):
            raise files
        for path in files:
            if path in out:
                raise PathError(f"conflicting duplicate paths {path!r} in projected volume")
        out.update(files)
    return out


async def _source_files(
    objects: ObjectCache,
    tokens: Tokens,
    pod: Obj,
    volume: Obj,
    source: Obj,
    mode: int,
    allocatable: dict[str, str],
) -> Payload:
    """The files of one source of a projected volume."""
    if source.get("serviceAccountToken") is not None:
        spec = source["serviceAccountToken"] or {}
        token = await tokens.get(pod, volume["name"], spec)
        return {str(spec.get("path") or "token"): (token.encode(), mode)}
    if source.get("configMap") is not None or source.get("secret") is not None:
        kind = "configMap" if source.get("configMap") is not None else "secret"
        ref = source[kind] or {}
        name, optional = str(ref.get("name") or ""), ref.get("optional") is True
        data = await objects.data(kind, namespace_of(pod), name, optional=optional)
        return key_files(kind, name, data, ref.get("items"), optional=optional, mode=mode)
    if source.get("downwardAPI") is not None:
        return downward.files(pod, (source["downwardAPI"] or {}).get("items"), mode, allocatable)
    return {}


def namespace_of(pod: Obj) -> str:
    return str(pod["metadata"].get("namespace", ""))


def _epoch(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    parsed = parse_time_or_none(stamp)
    return parsed.timestamp() if parsed else 0.0

"""The availability check of aggregated APIServices (kube-aggregator's AvailableConditionController).

Every few seconds, for each aggregated APIService: resolve its Service to an endpoint and ask the backend for its
discovery document (`GET /apis/<group>/<version>` with the front-proxy certificate, as the proxy would, as the
user system:kube-aggregator). The
Available condition says what was found, with upstream's reasons:

    ServiceNotFound         the Service does not exist (or lacks the port)
    MissingEndpoints        no ready endpoint for the port
    FailedDiscoveryCheck    the backend did not answer, or answered other than 2xx (401/403 count as answered:
                            the backend is there, it only refuses the anonymous check)
    Passed                  all checked

The condition is written only when it changes (status subresource, as the apiserver itself). The resources the
backend lists are kept for aggregated discovery (registry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from typing import TYPE_CHECKING, Any

import httpx

from apimachinery import errors
from apimachinery.tasks import stop_task
from apimachinery.user import MASTERS, UserInfo
from apiserver.aggregator.proxy import identity_headers
from apiserver.aggregator.registry import GROUP, Registry
from apiserver.aggregator.resolve import Backend, resolve
from apiserver.objectmeta import now

if TYPE_CHECKING:
    from apiserver.server import APIServer

log = logging.getLogger("apiserver.aggregator.available")

Obj = dict[str, Any]
INTERVAL = 5.0  # seconds between checks of one APIService (kube-aggregator: on changes and every 30 s)
CHECK_TIMEOUT = httpx.Timeout(5.0)
# Who the check asks as (kube-aggregator's discovery manager: system:kube-aggregator in system:masters), so that
# the backend answers with its resources rather than a 401.
CHECKER = UserInfo("system:kube-aggregator", groups=(MASTERS,))


def condition(status: bool, reason: str, message: str) -> Obj:
    return {"type": "Available", "status": "True" if status else "False", "reason": reason,
            "message": message}  # fmt: skip


def reason_for(err: errors.StatusError) -> str:
    text = err.message
    if "no endpoints" in text:
        return "MissingEndpoints"
    if "not found" in text or "has no port" in text:
        return "ServiceNotFound"
    return "FailedDiscoveryCheck"


class AvailabilityChecker:
    def __init__(self, server: APIServer, registry: Registry, interval: float = INTERVAL) -> None:
        self.server = server
        self.registry = registry
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="apiservice-availability")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        await self.server.bootstrapped.wait()
        while True:
            for obj in self.registry.aggregated():
                try:
                    await self.check(obj)
                except Exception:  # one bad APIService must not stop the checks of the others
                    log.exception("availability check failed", extra={"apiservice": obj["metadata"]["name"]})
            await asyncio.sleep(self.interval)

    async def check(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        try:
            backend = resolve(self.server, obj)
        except errors.StatusError as err:
            self.registry.resources.pop(name, None)
            await self._set(name, condition(False, reason_for(err), err.message))
            return
        found, message = await self._discover(obj, backend)
        if found is None:
            self.registry.resources.pop(name, None)
            await self._set(name, condition(False, "FailedDiscoveryCheck", message))
            return
        self.registry.resources[name] = found
        await self._set(name, condition(True, "Passed", "all checks passed"))

    async def _discover(self, obj: Obj, backend: Backend) -> tuple[Obj | None, str]:
        spec = obj["spec"]
        path = f"/apis/{spec['group']}/{spec['version']}"
        try:
            async with httpx.AsyncClient(
                verify=backend.ssl_context, timeout=CHECK_TIMEOUT, trust_env=False
            ) as c:
                response = await c.get(
                    backend.url + path,
                    headers=identity_headers(CHECKER),
                    extensions={"sni_hostname": backend.server_name},
                )
        except httpx.HTTPError as exc:
            return None, f"failing or missing response from {backend.url}{path}: {exc}"
        if response.status_code in (401, 403):
            return {}, ""
        if not 200 <= response.status_code < 300:
            return (
                None,
                f"failing or missing response from {backend.url}{path}: bad status from {backend.url}{path}: {response.status_code}",
            )
        try:
            body = response.json()
        except ValueError:
            return None, f"the discovery document at {backend.url}{path} is not JSON"
        return (body if isinstance(body, dict) else {}), ""

    async def _set(self, name: str, wanted: Obj) -> None:
        store = self.server.stores[(GROUP, "apiservices")]
        current = store.cache.get(f"/registry/apiservices/{name}")
        if current is None:
            return
        old = next((c for c in (current.get("status") or {}).get("conditions") or []
                    if c.get("type") == "Available"), None)  # fmt: skip
        if old is not None and all(old.get(k) == wanted[k] for k in ("status", "reason", "message")):
            return
        if old is None or old.get("status") != wanted["status"]:
            log.info(
                "apiservice availability changed",
                extra={
                    "apiservice": name,
                    "available": wanted["status"],
                    "reason": wanted["reason"],
                    "detail": wanted["message"],
                },
            )

        def transform(current: Obj) -> Obj:
            obj = copy.deepcopy(current)
            status = obj.setdefault("status", {})
            kept = [c for c in status.get("conditions") or [] if c.get("type") != "Available"]
            since = old.get("lastTransitionTime") if old and old.get("status") == wanted["status"] else now()
            status["conditions"] = [*kept, {**wanted, "lastTransitionTime": since}]
            return obj

        with contextlib.suppress(
            errors.StatusError
        ):  # deleted meanwhile, or a conflict: the next round retries
            await store.update(None, name, transform, subresource="status", manager="kube-apiserver")

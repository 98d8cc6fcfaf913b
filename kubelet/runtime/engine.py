"""The Engine API requests of a pod's start and stop (create, start, inspect, list, stop, kill, remove), made on the
kubelet's loop through aiodocker instead of the Docker SDK's blocking requests on a thread each.

On a burst of pod starts the kubelet sends several of these per pod, and on this 2-core machine its CPU is taken
from Docker: an inspect costs about 0.09 ms of CPU this way against 0.5-0.6 ms through the SDK (requests, urllib3
and a thread hand-off each; measured in one process, 400 inspects 16 at once). `kubelet.runtime.docker.DockerRuntime`
keeps the rest (exec, logs, images, volumes, events) on the SDK and maps the errors of both to its own.

Docker's event stream is read here too, on the loop (the SDK needs a thread for it, and decodes it slowly).

The create request's body is the SDK's own (`_create_body`): the same `containers.run`-style arguments make the
same JSON, so a container is created exactly as before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiodocker
import aiohttp
from docker.api.client import APIClient
from docker.api.container import ContainerApiMixin
from docker.models.containers import _create_container_args as create_container_args

REQUEST_TIMEOUT = 120.0  # seconds, as the SDK client's; a stop adds its grace period


class EngineError(Exception):
    """An Engine API request failed: the HTTP status (900: the engine cannot be reached) and Docker's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def image_missing(self) -> bool:
        return self.status == 404 and "no such image" in self.message.lower()


class _BodyOnly:
    """The SDK's APIClient, except that `create_container` hands back the request it would send."""

    def __init__(self, api: APIClient) -> None:
        self._api = api

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    @staticmethod
    def create_container_from_config(
        config: dict[str, Any], name: str | None = None, platform: str | None = None
    ) -> tuple[dict[str, Any], str | None, str | None]:
        return config, name, platform


def _create_body(api: APIClient, image: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The create request the SDK makes of `containers.create(image, **kwargs)`: (JSON body, query)."""
    kwargs = {**kwargs, "image": image, "command": kwargs.get("command"), "version": api._version}
    config, name, platform = ContainerApiMixin.create_container(
        _BodyOnly(api),  # type: ignore[arg-type]
        **create_container_args(kwargs),
    )
    body = {
        k: v for k, v in config.items() if v is not None
    }  # as the SDK's _post_json leaves out unset fields
    query = {"name": name} if name else {}
    if platform:
        query["platform"] = platform
    return body, query


class Engine:
    """aiodocker's client, made on the loop that first uses it (a new one for a later loop of the process)."""

    def __init__(self, api: APIClient) -> None:
        self._api = api  # the SDK's client: its address, API version and create-body translation
        self._docker: aiodocker.Docker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiodocker.Docker:
        loop = asyncio.get_running_loop()
        if self._docker is None or self._loop is not loop:
            self._docker = aiodocker.Docker(
                url=self._address(),
                api_version=f"v{self._api._version}",  # the SDK's: the same requests mean the same
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            )
            self._loop = loop
        return self._docker

    def _address(self) -> str:
        """The SDK client's engine address, as aiodocker spells it."""
        base = str(self._api.base_url)
        if base.startswith("http+docker://"):  # the SDK's spelling of a unix socket
            return "unix://" + str(self._api.get_adapter(base).socket_path)
        return base

    async def aclose(self) -> None:
        if self._docker is not None and self._loop is asyncio.get_running_loop():
            await self._docker.close()
        self._docker = None

    async def _json(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        try:
            return await self._client()._query_json(path, method, **kwargs)
        except aiodocker.DockerError as exc:
            raise EngineError(exc.status, str(exc.message)) from exc

    async def _call(self, path: str, method: str, **kwargs: Any) -> None:
        try:
            async with self._client()._query(path, method, **kwargs):
                pass
        except aiodocker.DockerError as exc:
            raise EngineError(exc.status, str(exc.message)) from exc

    async def create(self, image: str, kwargs: dict[str, Any]) -> str:
        """Create a container from `containers.create`'s arguments; its id."""
        body, query = _create_body(self._api, image, kwargs)
        created = await self._json(
            "containers/create",
            "POST",
            params=query,
            data=json.dumps(body),
            headers={"content-type": "application/json"},
        )
        return str(created["Id"])

    async def start(self, container_id: str) -> None:
        await self._call(f"containers/{container_id}/start", "POST")

    async def inspect(self, container_id: str) -> dict[str, Any]:
        return dict(await self._json(f"containers/{container_id}/json"))

    async def containers(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        """The list entries (Id, Labels, State, ...) of every container, running or not, that `filters` selects."""
        return list(await self._json("containers/json", params={"all": True, "filters": filters}))

    async def stop(self, container_id: str, grace: int) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT + grace)
        await self._call(f"containers/{container_id}/stop", "POST", params={"t": grace}, timeout=timeout)

    async def kill(self, container_id: str) -> None:
        await self._call(f"containers/{container_id}/kill", "POST")

    async def remove(self, container_id: str) -> None:
        """Remove the container, killing it first, with its anonymous volumes."""
        await self._call(f"containers/{container_id}", "DELETE", params={"force": True, "v": True})

    async def image(self, ref: str) -> dict[str, Any]:
        return dict(await self._json(f"images/{quote(ref, safe='/:')}/json"))  # quoted as the SDK quotes it

    async def volumes(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return list((await self._json("volumes", params={"filters": filters})).get("Volumes") or [])

    async def remove_volume(self, name: str) -> None:
        await self._call(f"volumes/{quote(name, safe='')}", "DELETE", params={"force": True})

    async def events(self, since: int, filters: dict[str, list[str]]) -> AsyncIterator[dict[str, Any]]:
        """Docker's events from `since` (seconds since the epoch) on, as `filters` selects them, as they come;
        until the stream ends."""
        endless = aiohttp.ClientTimeout(total=None, sock_read=None)
        params: dict[str, Any] = {"since": str(since), "filters": filters}
        try:
            async with self._client()._query("events", "GET", params=params, timeout=endless) as response:
                try:
                    async for line in response.content:
                        if line.strip():
                            yield json.loads(line)
                finally:
                    response.close()  # an endless stream: its connection is not reused
        except aiodocker.DockerError as exc:
            raise EngineError(exc.status, str(exc.message)) from exc

"""kubelet/runtime/engine.py: the create request made on the loop is the one the Docker SDK would send, and the
engine's errors become the runtime's."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest
from docker.models.containers import _create_container_args as create_container_args
from docker.types import Mount

from kubelet.runtime.docker import DockerRuntime, ImageMissing, RuntimeFailure
from kubelet.runtime.engine import Engine, EngineError, _create_body

ARGS: dict[str, Any] = {
    "name": "k8s_app_p_ns_uid_0",
    "labels": {"io.kubelite.node": "n1", "io.kubelite.type": "container"},
    "command": ["sleep", "3600"],
    "entrypoint": None,
    "environment": {"A": "1", "B": "two"},
    "network_mode": "container:abc",
    "ipc_mode": "container:abc",
    "mounts": [Mount("/etc/hosts", "/var/lib/kubelet/pods/uid/etc-hosts", type="bind", read_only=True)],
    "working_dir": "/work",
    "user": "1000:1000",
    "cap_add": ["NET_ADMIN"],
    "mem_limit": 64 * 1024 * 1024,
    "nano_cpus": 500_000_000,
    "tty": False,
    "stdin_open": False,
}


def test_the_create_body_is_the_sdks() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    sent: dict[str, Any] = {}

    def post_json(url: str, data: dict[str, Any], params: dict[str, Any], **_: Any) -> Any:
        sent.update(url=url, body=json.loads(json.dumps({k: v for k, v in data.items() if v is not None})),
                    params=params)  # fmt: skip
        raise RuntimeError("not sent")

    api._post_json = post_json  # type: ignore[method-assign]
    kwargs = {**ARGS, "image": "busybox:1", "version": api._version}
    with pytest.raises(RuntimeError, match="not sent"):
        api.create_container(**create_container_args(kwargs))
    body, query = _create_body(api, "busybox:1", ARGS)
    assert json.loads(json.dumps(body)) == sent["body"]
    assert query == {"name": "k8s_app_p_ns_uid_0"} == {k: v for k, v in sent["params"].items() if v}
    assert body["Image"] == "busybox:1" and body["HostConfig"]["NetworkMode"] == "container:abc"
    assert body["Env"] == ["A=1", "B=two"]
    api.close()


async def test_engine_errors_become_the_runtimes() -> None:
    async def create(image: str, args: dict[str, Any]) -> str:
        if image == "missing:1":
            raise EngineError(404, "No such image: missing:1")
        raise EngineError(409, 'Conflict. The container name "/x" is already in use by container "abc".')

    async def remove(container_id: str) -> None:
        raise EngineError(404, "No such container: x")

    class Engine:
        pass

    engine = Engine()
    engine.create = create  # type: ignore[attr-defined]
    engine.remove = remove  # type: ignore[attr-defined]
    runtime = DockerRuntime("n1", client=object(), workers=1, engine=engine)  # type: ignore[arg-type]
    try:
        with pytest.raises(ImageMissing, match="No such image: missing:1"):
            await runtime.create("missing:1", name="x", labels={})
        # A name in use is replaced (removed, then created again): the second failure is reported as it is.
        with pytest.raises(RuntimeFailure, match="is already in use") as caught:
            await runtime.create("busybox:1", name="x", labels={})
        assert not isinstance(caught.value, ImageMissing)
        await runtime.remove("x")  # a gone container is not an error
    finally:
        runtime._pool.shutdown(wait=True)


def test_the_engine_speaks_to_the_sdks_address() -> None:
    unix = docker.APIClient(base_url="unix:///run/other/docker.sock", version="1.41")
    tcp = docker.APIClient(base_url="tcp://127.0.0.1:2375", version="1.41")
    try:
        assert Engine(unix)._address() == "unix:///run/other/docker.sock"
        assert Engine(tcp)._address() == "http://127.0.0.1:2375"
    finally:
        unix.close()
        tcp.close()

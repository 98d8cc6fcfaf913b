from pathlib import Path

import pytest

from kubelet.quantity import cpu_millis, memory_bytes
from kubelet.runtime.spec import container_args, resource_args, volume_mounts, volume_paths

POD = {
    "metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"app": "web"}},
    "spec": {"nodeName": "n1", "volumes": [{"name": "scratch", "emptyDir": {}},
                                          {"name": "etc", "hostPath": {"path": "/etc", "type": "Directory"}}]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "millis"), [("100m", 100), ("1", 1000), ("1.5", 1500), ("0.1", 100), (2, 2000), ("1001u", 2)]
)
def test_cpu_millis(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "n"),
    [("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("500k", 500_000), ("1e3", 1000), (64, 64)],
)
def test_memory_bytes(text: str, n: int) -> None:
    assert memory_bytes(text) == n


def test_bad_quantity() -> None:
    with pytest.raises(ValueError):
        memory_bytes("lots")


def test_resources_to_docker() -> None:
    args = resource_args(
        {"resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}}}
    )
    assert args == {"nano_cpus": 500_000_000, "cpu_shares": 256, "mem_limit": 64 * 2**20}
    assert resource_args({"resources": {"limits": {"cpu": "2"}}}) == {
        "nano_cpus": 2_000_000_000,
        "cpu_shares": 2048,
    }
    assert resource_args({"resources": {"requests": {"cpu": "1m"}}}) == {"cpu_shares": 2}
    assert resource_args({}) == {}


def test_volumes_and_binds(tmp_path: Path) -> None:
    paths = volume_paths(tmp_path, POD)
    assert paths["scratch"][0] == str(tmp_path / "pods/u-1/volumes/kubernetes.io~empty-dir/scratch")
    assert paths["etc"] == ("/etc", "Directory")
    mounts = volume_mounts({"volumeMounts": [{"name": "scratch", "mountPath": "/data"},
                                             {"name": "etc", "mountPath": "/host-etc", "readOnly": True}]},
                           paths)  # fmt: skip
    assert [(m["Source"], m["Target"], m["Type"], m["ReadOnly"]) for m in mounts] == [
        (paths["scratch"][0], "/data", "bind", False),
        ("/etc", "/host-etc", "bind", True),
    ]


def test_container_args_command_and_args(tmp_path: Path) -> None:
    c = {"name": "c", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $(X)"], "workingDir": "/w",
         "env": [{"name": "X", "value": "1"}]}  # fmt: skip
    args = container_args(POD, c, sandbox_id="sb", restart_count=2, init=False, root_dir=tmp_path,
                          env={"X": "1"})  # fmt: skip
    assert args["entrypoint"] == ["sh", "-c"] and args["command"] == ["echo 1"]
    assert args["network_mode"] == "container:sb" and args["working_dir"] == "/w"
    assert args["name"] == "k8s_c_web_prod_u-1_2"
    assert args["labels"]["io.kubelite.container.restart-count"] == "2"
    assert (
        args["labels"]["io.kubelite.type"] == "container" and args["labels"]["io.kubelite.pod.uid"] == "u-1"
    )
    only_args = container_args(POD, {"name": "c", "image": "b", "args": ["x"]}, sandbox_id="sb", restart_count=0,
                               init=True, root_dir=tmp_path, env={})  # fmt: skip
    assert "entrypoint" not in only_args and only_args["command"] == ["x"]
    assert only_args["labels"]["io.kubelite.container.init"] == "true"

"""ConfigMaps, Secrets and the downward API in pods on a real kubelet and Docker, driven by the real kubectl: env
(valueFrom, envFrom, $(VAR) in args), configMap/secret/downwardAPI volumes updated in place while the pod runs,
and bad input: a missing key or object (CreateContainerConfigError, FailedMount, then recovery), optional
references, and item paths that would leave the volume, refused by the API and, written past it, by the kubelet.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.volumes.tmpfs import mounts_under
from tests.binaries import INSTALL_HINT, KUBECTL
from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.e2e.kubelet.test_hostile import put_raw
from tests.harness import ApiServer
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.kubectl]

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubectl(node_pair: NodePair) -> Iterator[Kubectl]:
    """Run the real kubectl as the cluster admin; the result is returned, not checked (`check=True` checks)."""
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")
    cache = tempfile.mkdtemp(prefix="kubelite-kubectl-cache-")
    kubeconfig = str(node_pair.a.apiserver.admin_kubeconfig)

    def run(
        *args: str, stdin: str | None = None, check: bool = True, editor: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(KUBECTL), "--kubeconfig", kubeconfig, "--cache-dir", cache, *args]
        env = {**os.environ, "KUBE_EDITOR": editor} if editor else None
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, env=env)
        if check:
            assert done.returncode == 0, f"{' '.join(args)}: {done.stderr}"
        return done

    try:
        yield run
    finally:
        subprocess.run(["rm", "-rf", cache], check=False)


def apply(kubectl: Kubectl, ns: str, *objs: dict[str, Any]) -> None:
    for obj in objs:
        kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps(obj))


def waiting(pod: dict[str, Any], container: str = "c") -> dict[str, Any]:
    for s in (pod.get("status") or {}).get("containerStatuses") or []:
        if s["name"] == container:
            return dict(s.get("state", {}).get("waiting") or {})
    return {}


def env_var(node_pair: NodePair, pod: dict[str, Any], name: str) -> str:
    """The value of the environment variable `name` in the pod's container c."""
    return node_pair.exec(pod, "c", "sh", "-c", f"echo ${name}").stdout.strip()


def read(node_pair: NodePair, ns: str, name: str, path: str) -> str:
    pod = node_pair.get_pod(ns, name)
    assert pod is not None
    return node_pair.exec(pod, "c", "cat", path).stdout


SLEEP = ["sh", "-c", "sleep 3600"]


@pytest.fixture
def etcd_url(kubelet_apiserver: ApiServer) -> str:
    """The etcd behind the kubelets' apiserver, for objects the API would refuse."""
    assert kubelet_apiserver.etcd_url is not None
    return kubelet_apiserver.etcd_url


def test_a_pod_reads_env_from_a_configmap_and_a_secret(node_pair: NodePair, kubectl: Kubectl) -> None:
    ns = node_pair.namespace()
    kubectl("-n", ns, "create", "configmap", "app", "--from-literal=mode=fast", "--from-literal=level=3")
    kubectl(
        "-n",
        ns,
        "create",
        "secret",
        "generic",
        "db",
        "--from-literal=password=s3cret",
        "--from-literal=user=admin",
    )
    env = [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "mode"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "DSN", "value": "$(user):$(PASS)@$(NAME)"},
    ]
    env_from = [{"configMapRef": {"name": "app"}, "prefix": "CFG_"}, {"secretRef": {"name": "db"}}]
    # $(MODE) and $(DSN) in the command are the kubelet's to expand: sh would run them as commands otherwise.
    script = "echo MODE=$MODE; echo DSN=$DSN; echo CFG_level=$CFG_level; echo ARG=$(MODE)/$(DSN); sleep 3600"
    pod = make_pod("env", node_pair.a.name, [{"name": "c", "command": ["sh", "-c", script], "env": env,
                                               "envFrom": env_from}])  # fmt: skip
    apply(kubectl, ns, pod)
    node_pair.wait_running(ns, "env")
    want = ["MODE=fast", "DSN=admin:s3cret@env", "CFG_level=3", "ARG=fast/admin:s3cret@env"]
    logs = wait_until(lambda: (out := kubectl("-n", ns, "logs", "env").stdout).count("\n") >= 4 and out, 20)
    assert logs.splitlines() == want
    # env is read once: a changed ConfigMap does not reach the running container (as in Kubernetes).
    kubectl("-n", ns, "patch", "configmap", "app", "-p", '{"data":{"mode":"slow"}}')
    running = node_pair.get_pod(ns, "env")
    assert running is not None
    assert env_var(node_pair, running, "MODE") == "fast"
    node_pair.delete_pod(ns, "env")


def test_a_configmap_volume_follows_an_edit_and_a_secret_volume_is_private(
    node_pair: NodePair, kubectl: Kubectl
) -> None:
    ns = node_pair.namespace()
    kubectl("-n", ns, "create", "configmap", "app", "--from-literal=app.conf=v1", "--from-literal=other=x")
    kubectl("-n", ns, "create", "secret", "generic", "db", "--from-literal=password=s3cret")
    volumes = [
        {
            "name": "cfg",
            "configMap": {"name": "app", "items": [{"key": "app.conf", "path": "conf/app.conf"}]},
        },
        {"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}},
    ]
    mounts = [{"name": "cfg", "mountPath": "/etc/app"}, {"name": "creds", "mountPath": "/etc/creds"}]
    pod = make_pod(
        "vol", node_pair.a.name, [{"name": "c", "command": SLEEP, "volumeMounts": mounts}], volumes=volumes
    )
    apply(kubectl, ns, pod)
    running = node_pair.wait_running(ns, "vol")
    assert read(node_pair, ns, "vol", "/etc/app/conf/app.conf") == "v1"
    assert read(node_pair, ns, "vol", "/etc/creds/password") == "s3cret"
    listing = node_pair.exec(running, "c", "ls", "-a", "/etc/app").stdout.split()
    assert "..data" in listing and "conf" in listing and "other" not in listing  # only the listed item
    # The kubelet owns these files: the container cannot write them.
    assert node_pair.exec(running, "c", "touch", "/etc/app/new").returncode != 0
    # On the host: the secret's file has its mode, and no other user reaches the directory of secret volumes.
    uid = running["metadata"]["uid"]
    secret_dir = node_pair.a.root_dir / "pods" / uid / "volumes" / "kubernetes.io~secret"
    assert stat.S_IMODE(secret_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((secret_dir / "creds" / "password").stat().st_mode) == 0o400
    assert mounts_under(secret_dir) == [str(secret_dir / "creds")]  # in memory: a tmpfs of its own
    assert str(secret_dir.parent / "kubernetes.io~configmap" / "cfg") not in mounts_under(secret_dir.parent)
    # An edit of the ConfigMap reaches the mounted file while the pod runs (the next pod sync, within seconds).
    changed_at = time.monotonic()
    # `kubectl edit` with an editor that changes the value in the file kubectl hands it.
    kubectl("-n", ns, "edit", "configmap", "app", editor="sed -i -e s/app.conf:\\ v1/app.conf:\\ v2/")
    assert kubectl("-n", ns, "get", "configmap", "app", "-o", "jsonpath={.data.app\\.conf}").stdout == "v2"
    wait_until(lambda: read(node_pair, ns, "vol", "/etc/app/conf/app.conf") == "v2", 30, 0.2,
               what="the edited ConfigMap in the volume")  # fmt: skip
    print(f"configMap edit reached the volume in {time.monotonic() - changed_at:.1f}s (kubelet resync 5s)")
    assert node_pair.get_pod(ns, "vol")["status"]["containerStatuses"][0]["restartCount"] == 0  # type: ignore[index]
    node_pair.delete_pod(ns, "vol")
    # The pod's worker unmounts its tmpfs volumes before it removes the pod's directory.
    wait_until(lambda: not secret_dir.exists(), 30, 0.2, what="the pod's directory removed")
    assert [m for m in mounts_under(node_pair.a.root_dir) if uid in m] == []


def test_a_downward_api_volume_follows_the_labels(node_pair: NodePair, kubectl: Kubectl) -> None:
    ns = node_pair.namespace()
    items = [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {
            "path": "mem",
            "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"},
        },
    ]
    pod = make_pod("info", node_pair.a.name, [{"name": "c", "command": SLEEP, "resources": {"limits": {"memory": "48Mi"}},
                   "volumeMounts": [{"name": "info", "mountPath": "/etc/info"}]}],
                   volumes=[{"name": "info", "downwardAPI": {"items": items}}])  # fmt: skip
    pod["metadata"]["labels"] = {"app": "web", "tier": "front"}
    apply(kubectl, ns, pod)
    node_pair.wait_running(ns, "info")
    assert read(node_pair, ns, "info", "/etc/info/labels") == 'app="web"\ntier="front"'
    assert read(node_pair, ns, "info", "/etc/info/tier") == "front"
    assert read(node_pair, ns, "info", "/etc/info/name") == "info"
    assert read(node_pair, ns, "info", "/etc/info/mem") == "48"
    kubectl("-n", ns, "label", "pod", "info", "tier=back", "--overwrite")
    wait_until(lambda: read(node_pair, ns, "info", "/etc/info/tier") == "back", 30, 0.2, what="the new label")
    assert read(node_pair, ns, "info", "/etc/info/labels") == 'app="web"\ntier="back"'
    node_pair.delete_pod(ns, "info")


def test_a_missing_key_keeps_the_container_from_starting_until_it_exists(
    node_pair: NodePair, kubectl: Kubectl
) -> None:
    ns = node_pair.namespace()
    kubectl("-n", ns, "create", "configmap", "app", "--from-literal=mode=fast")
    env = [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "level"}}}]
    apply(kubectl, ns, make_pod("nokey", node_pair.a.name, [{"name": "c", "command": SLEEP, "env": env}]))
    pod = node_pair.wait_pod(
        ns, "nokey", lambda p: waiting(p).get("reason") == "CreateContainerConfigError", 30
    )
    assert waiting(pod)["message"] == f"couldn't find key level in ConfigMap {ns}/app"
    assert pod["status"]["phase"] == "Pending"
    wait_until(lambda: any(e["reason"] == "Failed" and e["message"] == f"Error: couldn't find key level in "
                           f"ConfigMap {ns}/app" for e in node_pair.events(ns, "nokey")), 20)  # fmt: skip
    kubectl("-n", ns, "patch", "configmap", "app", "-p", '{"data":{"level":"3"}}')
    running = node_pair.wait_running(ns, "nokey", 30)
    assert env_var(node_pair, running, "LEVEL") == "3"
    node_pair.delete_pod(ns, "nokey")


def test_a_missing_configmap_volume_waits_and_optional_ones_do_not(
    node_pair: NodePair, kubectl: Kubectl
) -> None:
    ns = node_pair.namespace()
    mounts = [{"name": "cfg", "mountPath": "/etc/cfg"}]
    pod = make_pod("novol", node_pair.a.name, [{"name": "c", "command": SLEEP, "volumeMounts": mounts}],
                   volumes=[{"name": "cfg", "configMap": {"name": "later"}}])  # fmt: skip
    optional = make_pod("optional", node_pair.a.name, [{"name": "c", "command": SLEEP, "volumeMounts": mounts,
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}}],
        "envFrom": [{"configMapRef": {"name": "absent", "optional": True}}]}],
        volumes=[{"name": "cfg", "configMap": {"name": "absent", "optional": True}}])  # fmt: skip
    apply(kubectl, ns, pod, optional)
    message = 'MountVolume.SetUp failed for volume "cfg" : configmap "later" not found'
    wait_until(lambda: any(e["reason"] == "FailedMount" and e["message"] == message
                           for e in node_pair.events(ns, "novol")), 30, what="FailedMount")  # fmt: skip
    pod = node_pair.wait_pod(ns, "novol", lambda p: waiting(p).get("reason") == "ContainerCreating", 10)
    assert pod["status"]["phase"] == "Pending"
    ready = node_pair.wait_running(ns, "optional")
    assert node_pair.exec(ready, "c", "sh", "-c", "echo ${X-unset}").stdout.strip() == "unset"
    assert node_pair.exec(ready, "c", "ls", "/etc/cfg").stdout == ""  # an empty volume
    kubectl("-n", ns, "create", "configmap", "later", "--from-literal=k=v")
    node_pair.wait_running(ns, "novol", 30)
    assert read(node_pair, ns, "novol", "/etc/cfg/k") == "v"
    for name in ("novol", "optional"):
        node_pair.delete_pod(ns, name)


def test_paths_out_of_the_volume_are_refused_by_the_api_and_by_the_kubelet(
    node_pair: NodePair, kubectl: Kubectl, etcd_url: str
) -> None:
    ns = node_pair.namespace()
    target = f"/tmp/kubelite-cfg-{uuid.uuid4().hex[:8]}"
    volumes = [
        {
            "name": "cfg",
            "configMap": {"name": "app", "items": [{"key": "k", "path": f"../../../../../../..{target}"}]},
        }
    ]
    pod = make_pod("escape", node_pair.a.name, [{"name": "c", "command": SLEEP}], volumes=volumes)
    refused = kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert refused.returncode != 0
    assert (f'spec.volumes[0].configMap.items[0].path: Invalid value: "../../../../../../..{target}": '
            "must not contain '..'") in refused.stderr  # fmt: skip
    bad_key = kubectl("-n", ns, "create", "configmap", "keys", "--from-literal=..data=x", check=False)
    assert bad_key.returncode != 0 and "must not start with '..'" in bad_key.stderr
    # Written past the API, straight into etcd: the kubelet checks the path again and writes nothing.
    kubectl("-n", ns, "create", "configmap", "app", "--from-literal=k=pwned")
    raw = json.loads(json.dumps(pod))
    raw["metadata"].update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp="2026-01-01T00:00:00Z")
    raw["status"] = {"phase": "Pending"}
    put_raw(etcd_url, f"/registry/pods/{ns}/escape", raw)
    wait_until(lambda: any(e["reason"] == "FailedMount" and "must not contain '..'" in e["message"]
                           for e in node_pair.events(ns, "escape")), 60, what="the path refused")  # fmt: skip
    assert not os.path.exists(target)
    assert not [
        c
        for c in node_pair.containers(ns, "escape")
        if c["Config"]["Labels"]["io.kubelite.type"] == "container"
    ]
    stray = [p for p in Path(node_pair.a.root_dir).rglob("*") if p.is_file() and p.read_bytes() == b"pwned"]
    assert stray == []
    node_pair.delete_pod(ns, "escape")

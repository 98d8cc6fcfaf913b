"""Pod Security admission through the real kubectl: refusals in a baseline namespace, the same pods allowed in a
privileged one, warnings printed by kubectl, and the cluster default that `kctl up` uses (baseline, with
kube-system exempt)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.harness import ApiServer, Etcd, running_apiserver
from tests.integration.kubectl.kube import MARKS, Kubectl
from tests.kube import write_kubeconfig

pytestmark = MARKS

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{spec}
  containers:
  - name: x
    image: busybox
{container}"""

PRIVILEGED = ("", "    securityContext:\n      privileged: true\n")
HOST_PATH = (
    "  volumes:\n  - name: h\n    hostPath:\n      path: /\n",
    "    volumeMounts:\n    - {name: h, mountPath: /host}\n",
)
HOST_NETWORK = ("  hostNetwork: true\n", "")


@pytest.fixture(scope="module")
def server(etcd: Etcd) -> Iterator[ApiServer]:
    flags = ["--pod-security-default", "baseline", "--pod-security-exempt-namespaces", "kube-system"]
    with running_apiserver(etcd.url, flags) as s:
        yield s


@pytest.fixture(scope="module")
def kube(server: ApiServer, kubectl_home: Path) -> Kubectl:
    return Kubectl(kubeconfig=write_kubeconfig(kubectl_home / f"kubeconfig-{server.port}", server),
                   cache_dir=kubectl_home / "cache")  # fmt: skip


def namespace(server: ApiServer, labels: dict[str, str] | None = None) -> str:
    name = f"psa-{uuid.uuid4().hex[:8]}"
    with server.client() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels or {}}})
    assert r.status_code == 201, r.text
    return name


def manifest(name: str, parts: tuple[str, str]) -> str:
    return POD.format(name=name, spec=parts[0] or "  restartPolicy: Always\n", container=parts[1])


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (PRIVILEGED, 'privileged (container "x" must not set securityContext.privileged=true)'),
        (HOST_PATH, 'hostPath volumes (volume "h")'),
        (HOST_NETWORK, "host namespaces (hostNetwork=true)"),
    ],
)
def test_refused_in_a_baseline_namespace(
    server: ApiServer, kube: Kubectl, parts: tuple[str, str], expected: str
) -> None:
    ns = namespace(server)  # no labels: the cluster default, baseline
    err = kube.in_namespace(ns).fails("apply", "-f", "-", stdin=manifest("bad", parts))
    assert "Error from server (Forbidden)" in err, err
    assert f'pods "bad" is forbidden: violates PodSecurity "baseline:latest": {expected}' in err, err
    labelled = namespace(server, {"pod-security.kubernetes.io/enforce": "baseline"})
    err = kube.in_namespace(labelled).fails("apply", "-f", "-", stdin=manifest("bad", parts))
    assert f'violates PodSecurity "baseline:latest": {expected}' in err, err


@pytest.mark.parametrize("parts", [PRIVILEGED, HOST_PATH, HOST_NETWORK])
def test_allowed_in_a_privileged_namespace(server: ApiServer, kube: Kubectl, parts: tuple[str, str]) -> None:
    ns = namespace(server, {"pod-security.kubernetes.io/enforce": "privileged",
                            "pod-security.kubernetes.io/warn": "privileged",
                            "pod-security.kubernetes.io/audit": "privileged"})  # fmt: skip
    done = kube.in_namespace(ns).run("apply", "-f", "-", stdin=manifest("ok", parts))
    assert done.returncode == 0 and "pod/ok created" in done.stdout, done.stderr
    assert "Warning" not in done.stderr


def test_kube_system_is_exempt(server: ApiServer, kube: Kubectl) -> None:
    name = f"sys-{uuid.uuid4().hex[:6]}"
    kube.in_namespace("kube-system")("apply", "-f", "-", stdin=manifest(name, PRIVILEGED))
    kube.in_namespace("kube-system")("delete", "pod", name, "--wait=false")


def test_kubectl_prints_the_warnings(server: ApiServer, kube: Kubectl) -> None:
    ns = namespace(server, {"pod-security.kubernetes.io/enforce": "privileged",
                            "pod-security.kubernetes.io/warn": "restricted"})  # fmt: skip
    done = kube.in_namespace(ns).run("apply", "-f", "-", stdin=manifest("warned", HOST_NETWORK))
    assert done.returncode == 0, done.stderr
    assert 'Warning: would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true), ' \
           'allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false)' \
           in done.stderr, done.stderr  # fmt: skip
    # A Deployment's pod template is checked in warn mode (its pods meet enforce when they are created).
    deployment = factories.deployment("d", 1, "busybox", "c", labelled=False, pod_spec={"hostPID": True})
    done = kube.in_namespace(ns).run("apply", "-f", "-", stdin=json.dumps(deployment))
    assert done.returncode == 0, done.stderr
    assert (
        'Warning: would violate PodSecurity "restricted:latest": host namespaces (hostPID=true)'
        in done.stderr
    )


def test_raising_a_namespace_to_baseline_names_the_pods_that_violate_it(
    server: ApiServer, kube: Kubectl
) -> None:
    ns = namespace(server, {"pod-security.kubernetes.io/enforce": "privileged"})
    kube.in_namespace(ns)("apply", "-f", "-", stdin=manifest("old", PRIVILEGED))
    done = kube.run("label", "--overwrite", "ns", ns, "pod-security.kubernetes.io/enforce=baseline")
    assert done.returncode == 0, done.stderr
    assert f'Warning: existing pods in namespace "{ns}" violate the new PodSecurity enforce level "baseline:latest"' \
        in done.stderr  # fmt: skip
    assert "Warning: old: privileged" in done.stderr, done.stderr


def test_bad_labels_are_invalid(server: ApiServer, kube: Kubectl) -> None:
    ns = namespace(server)
    err = kube.fails("label", "ns", ns, "pod-security.kubernetes.io/enforce=strict")
    assert 'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of ' \
           "privileged, baseline, restricted" in err, err  # fmt: skip

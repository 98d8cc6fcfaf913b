"""lightkube, an independent client library, through the same basic workflow: create, get, list with a selector,
the three patch types and apply, a replayed watch, and delete."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import PatchType

from tests.harness import ApiServer
from tests.kube import write_kubeconfig

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def lk(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    path = write_kubeconfig(Path(tmp_path_factory.mktemp("lightkube")) / "kubeconfig", apiserver)
    client = Client(KubeConfig.from_file(path))
    yield client
    client._client._client.close()  # lightkube has no public close; its httpx client holds sockets


def _pod(name: str, labels: dict[str, str] | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=PodSpec(containers=[Container(name="app", image="busybox:1.36")]),
    )


def test_workflow(lk: Client, http: httpx.Client, ns: str) -> None:
    rv = http.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]

    created = lk.create(_pod("a", {"app": "web"}), namespace=ns)
    assert created.metadata.uid and created.metadata.namespace == ns
    lk.create(_pod("b", {"app": "db"}), namespace=ns)

    got = lk.get(Pod, "a", namespace=ns)
    assert got.metadata.uid == created.metadata.uid and got.spec.containers[0].image == "busybox:1.36"
    assert [p.metadata.name for p in lk.list(Pod, namespace=ns, labels={"app": "web"})] == ["a"]
    assert sorted(p.metadata.name for p in lk.list(Pod, namespace=ns)) == ["a", "b"]

    patched = lk.patch(Pod, "a", {"metadata": {"labels": {"tier": "fe"}}}, namespace=ns)  # strategic
    assert patched.metadata.labels == {"app": "web", "tier": "fe"}
    patched = lk.patch(
        Pod, "a", {"metadata": {"labels": {"tier": None}}}, namespace=ns, patch_type=PatchType.MERGE
    )
    assert patched.metadata.labels == {"app": "web"}
    patched = lk.patch(
        Pod,
        "a",
        [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}}],
        namespace=ns,
        patch_type=PatchType.JSON,
    )
    assert patched.metadata.annotations == {"k": "v"}
    stored = http.get(f"/api/v1/namespaces/{ns}/pods/a").json()
    assert stored["metadata"]["labels"] == {"app": "web"} and stored["metadata"]["annotations"] == {"k": "v"}

    lk.delete(Pod, "b", namespace=ns)
    assert http.get(f"/api/v1/namespaces/{ns}/pods/b").status_code == 404
    with pytest.raises(ApiError) as missing:
        lk.get(Pod, "b", namespace=ns)
    assert missing.value.status.code == 404

    # A watch from the resourceVersion before all this replays it in order.
    events = [
        (t, o.metadata.name) for t, o in itertools.islice(lk.watch(Pod, namespace=ns, resource_version=rv), 6)
    ]
    assert events == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("MODIFIED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]


def test_apply_and_deployment(lk: Client, http: httpx.Client, ns: str) -> None:
    cm = ConfigMap(
        apiVersion="v1", kind="ConfigMap", metadata=ObjectMeta(name="cfg", namespace=ns), data={"a": "1"}
    )
    assert lk.apply(cm, field_manager="lightkube").data == {"a": "1"}
    cm.data = {"a": "2"}
    assert lk.apply(cm, field_manager="lightkube").data == {"a": "2"}
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/cfg").json()["data"] == {"a": "2"}

    labels = {"app": "web"}
    dep = Deployment(
        metadata=ObjectMeta(name="web"),
        spec=DeploymentSpec(
            replicas=1,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="app", image="nginx")]),
            ),
        ),
    )
    lk.create(dep, namespace=ns)
    scale = lk.get(Deployment.Scale, "web", namespace=ns)
    assert scale.spec.replicas == 1
    scale.spec.replicas = 3
    assert lk.replace(scale, "web", namespace=ns).spec.replicas == 3
    assert http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"] == 3
    lk.delete(Deployment, "web", namespace=ns)
    assert http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").status_code == 404

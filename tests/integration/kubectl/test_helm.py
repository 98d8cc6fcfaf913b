"""The real helm 3.17 against an apiserver alone (no nodes: no --wait, hooks off): its release Secrets are
listed by label, upgrades are three-way merges, a custom object is validated against its CRD's schema, rollback
and uninstall put everything back. tests/e2e/helm runs the whole workflow, pods included, on a `kctl up` cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.helm import Helm, crd_chart, demo_chart, needs_helm
from tests.images import BUSYBOX_IMAGE
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.kube import write_kubeconfig

pytestmark = [*MARKS, needs_helm]

REPOSITORY, TAG = BUSYBOX_IMAGE.rsplit(":", 1)
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture
def helm(apiserver: ApiServer, ns: str, tmp_path: Path) -> Helm:
    config = write_kubeconfig(tmp_path / "kubeconfig", apiserver)
    return Helm(config, tmp_path / "helm-home", namespace=ns)


def release_labels(api: Api, ns: str, release: str) -> dict[str, dict[str, str]]:
    listed = api.get(f"/api/v1/namespaces/{ns}/secrets?labelSelector=owner%3Dhelm%2Cname%3D{release}")
    assert {s["type"] for s in listed["items"]} <= {"helm.sh/release.v1"}
    return {s["metadata"]["name"]: s["metadata"]["labels"] for s in listed["items"]}


def test_install_upgrade_rollback_uninstall(
    helm: Helm, kubectl: Kubectl, api: Api, ns: str, tmp_path: Path
) -> None:
    chart, values = demo_chart(helm, tmp_path, REPOSITORY, TAG)
    deployment = f"/apis/apps/v1/namespaces/{ns}/deployments/d1-demo"

    helm("install", "d1", str(chart), "-f", str(values), "--no-hooks")
    assert api.get(deployment)["spec"]["replicas"] == 2
    assert api.get(f"/api/v1/namespaces/{ns}/serviceaccounts/d1-demo")["metadata"]["name"] == "d1-demo"
    assert release_labels(api, ns, "d1")["sh.helm.release.v1.d1.v1"]["status"] == "deployed"

    # Three-way merge: a field someone else set survives an upgrade; one the chart stops setting goes.
    kubectl("annotate", "deploy/d1-demo", "team=ops")
    helm("upgrade", "d1", str(chart), "-f", str(values), "--set", "replicaCount=3", "--set",
         "readinessProbe=null", "--no-hooks")  # fmt: skip
    upgraded = api.get(deployment)
    assert upgraded["spec"]["replicas"] == 3
    assert upgraded["metadata"]["annotations"]["team"] == "ops"
    assert "readinessProbe" not in upgraded["spec"]["template"]["spec"]["containers"][0]
    assert {n: labels["status"] for n, labels in release_labels(api, ns, "d1").items()} == {
        "sh.helm.release.v1.d1.v1": "superseded",
        "sh.helm.release.v1.d1.v2": "deployed",
    }

    helm("rollback", "d1", "1", "--no-hooks")
    rolled = api.get(deployment)
    assert rolled["spec"]["replicas"] == 2
    assert rolled["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/"

    helm("uninstall", "d1", "--no-hooks")
    assert api.status_code(deployment) == 404
    assert api.status_code(f"/api/v1/namespaces/{ns}/services/d1-demo") == 404
    assert release_labels(api, ns, "d1") == {}


@pytest.fixture
def group(api: Api) -> Iterator[str]:
    name = f"h{uuid.uuid4().hex[:6]}.example.com"
    yield name
    api.delete(f"{CRDS}/widgets.{name}")


def test_a_chart_with_a_crd(helm: Helm, api: Api, ns: str, group: str, tmp_path: Path) -> None:
    chart = crd_chart(tmp_path, group)
    widget = f"/apis/{group}/v1/namespaces/{ns}/widgets/w1-widget"

    helm("install", "w1", str(chart))
    assert api.get(widget)["spec"] == {"size": 3, "color": "blue"}
    refused = helm.run("upgrade", "w1", str(chart), "--set", "size=0")
    assert refused.returncode != 0 and "spec.size" in refused.stderr
    helm("upgrade", "w1", str(chart), "--set", "size=5")
    assert api.get(widget)["spec"]["size"] == 5
    helm("rollback", "w1", "1")
    assert api.get(widget)["spec"]["size"] == 3
    helm("uninstall", "w1")
    assert api.status_code(widget) == 404
    assert api.status_code(f"{CRDS}/widgets.{group}") == 200  # helm leaves what crds/ installed

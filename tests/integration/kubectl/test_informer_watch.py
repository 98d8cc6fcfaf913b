"""A real client-go informer (kubectl 1.32's `wait`) against a watch that has become too old: its watch is cut
off by an apiserver restart, more writes than the watch cache holds happened since its resourceVersion, so the
re-watch gets 410 Gone ("too old resource version"); the reflector relists and `wait` still sees the change."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

from tests import factories
from tests.harness import Etcd, running_apiserver
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.kube import write_kubeconfig
from tests.namespaces import purge_namespace
from tests.polling import wait_until

pytestmark = MARKS

CACHE = 20  # events per watch cache, and the history an apiserver restart keeps


def test_informer_relists_after_410(etcd: Etcd, tmp_path: Path) -> None:
    with running_apiserver(etcd.url, ["--watch-cache-size", str(CACHE)]) as server:
        api = Api(server.url)
        ns = "r-" + uuid.uuid4().hex[:8]
        api.create("/api/v1/namespaces", {"metadata": {"name": ns}})
        kubectl = Kubectl(write_kubeconfig(tmp_path / "kubeconfig", server), tmp_path / "cache", ns)
        log = tmp_path / "kubectl.log"
        proc = None
        try:
            api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("p", image="nginx:1.25"))
            with log.open("w") as err:
                proc = subprocess.Popen(
                    kubectl.argv(
                        "wait", "-v=6", "--for=jsonpath={.metadata.labels.x}=y", "pod/p", "--timeout=60s"
                    ),
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    env=kubectl.env(),
                )
            wait_until(lambda: "watch=true" in log.read_text(), 15, what="kubectl's informer watching")
            for i in range(CACHE + 5):  # the informer's resourceVersion falls out of the window
                api.create(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"cm-{i}"}})
            server.restart()  # ends the watch; the re-watch is from the old resourceVersion
            wait_until(
                lambda: "too old resource version" in log.read_text(), 30, what="the 410 seen by kubectl"
            )
            relisted = time.monotonic()
            api.merge_patch(f"/api/v1/namespaces/{ns}/pods/p", {"metadata": {"labels": {"x": "y"}}})
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0, log.read_text()[-3000:]
            assert out.strip() == "pod/p condition met"
            text = log.read_text()
            after = text[text.index("too old resource version") :]
            assert "/api/v1/namespaces/" + ns + "/pods?" in after and "watch=true" in after, (
                "relist, then watch"
            )
            assert time.monotonic() - relisted < 30
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
            purge_namespace(api.http, ns)
            api.close()


def test_watch_list_informer(kubectl: Kubectl, api: Api, ns: str) -> None:
    """With client-go's WatchListClient feature on, kubectl's informer streams its initial state through
    sendInitialEvents and stops waiting at the bookmark that ends it."""
    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("p", {"x": "y"}, image="nginx:1.25"))
    done = subprocess.run(
        kubectl.argv("wait", "-v=6", "--for=jsonpath={.metadata.labels.x}=y", "pod/p", "--timeout=20s"),
        capture_output=True,
        text=True,
        env={**kubectl.env(), "KUBE_FEATURE_WatchListClient": "true"},
        timeout=40,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "pod/p condition met"
    assert "resourceVersionMatch=NotOlderThan&sendInitialEvents=true" in done.stderr
    assert "received the bookmark that marks the end of initial events stream" in done.stderr
    assert "limit=500" not in done.stderr, "no list: the watch carried the initial state"

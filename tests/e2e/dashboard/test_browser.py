"""The dashboard in a real browser (Debian's headless chromium, Selenium) on a whole cluster on Docker.

In order, on one cluster and one Deployment: the overview lists the Deployment and its pods Running; scaling it
with the real kubectl makes the new pod appear without a reload; a CrashLoopBackOff pod is marked and its logs
open from the keyboard; a user with only `view` rights sees no write buttons even with --allow-writes; the
overview fits a phone-sized screen. Nothing the API holds runs as script (hostile event messages and log
lines). Screenshots go to the `shots` tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard import Dashboard, running_dashboard
from tests.e2e.cluster.cluster import CLUSTER_MARKS, LocalCluster, kubectl
from tests.images import BUSYBOX_IMAGE
from tests.kube import write_kubeconfig
from tests.polling import wait_until

pytestmark = [*CLUSTER_MARKS, pytest.mark.timeout(240)]

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
VIEWER = "dashboard-e2e-viewer"
state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def ns(cluster: LocalCluster) -> str:
    ns = cluster.namespace()
    cluster.create_deployment(ns, "web", 2)
    assert cluster.api is not None
    event = {"metadata": {"name": "hostile.1"}, "type": "Warning", "reason": "Hostile", "message": HOSTILE,
             "involvedObject": {"kind": "Deployment", "namespace": ns, "name": "web"}}  # fmt: skip
    assert cluster.api.post(f"/api/v1/namespaces/{ns}/events", json=event).status_code == 201
    return ns


@pytest.fixture(scope="module")
def board(cluster: LocalCluster, ns: str) -> Iterator[Dashboard]:
    with running_dashboard(cluster.kubeconfig, "--allow-writes") as b:
        yield b


# A live update replaces the page's body at any moment: read what a check needs in one script (atomic in the
# page), and let a wait retry when an element it held was replaced.
STALE = (StaleElementReferenceException, NoSuchElementException)


def _wait(browser: Any, fn: Any, timeout: float = 60, what: str = "") -> Any:
    return WebDriverWait(browser, timeout, poll_frequency=0.2, ignored_exceptions=STALE).until(
        fn, message=what
    )


def _pod_statuses(browser: Any, workload: str) -> list[str]:
    """The status word of each pod row in `workload`'s section, read at one instant."""
    script = (
        "const s = document.querySelector(`section.workload[data-name='${arguments[0]}']`);"
        "return s ? Array.from(s.querySelectorAll('tr.pod-row [data-status]')).map(e => e.dataset.status) : [];"
    )
    return list(browser.execute_script(script, workload))


def _running(browser: Any, workload: str) -> int:
    return _pod_statuses(browser, workload).count("Running")


def _text(browser: Any, selector: str) -> str:
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
    return str(browser.execute_script(script, selector))


def _no_script_ran(browser: Any) -> None:
    assert browser.execute_script("return window.__xss === undefined"), "API text ran as script"


def test_overview_lists_the_deployment_and_its_pods_running(
    browser: Any, board: Dashboard, cluster: LocalCluster, ns: str, shots: Path
) -> None:
    browser.get(f"{board.login_url}&namespace={ns}")
    assert "token=" not in browser.current_url  # traded for a cookie
    _wait(browser, lambda d: _running(d, "web") == 2, 90, "2 pods of web Running on the overview")
    _wait(
        browser, lambda d: "2/2 ready" in _text(d, 'section.workload[data-name="web"]'), 30, "web 2/2 ready"
    )
    assert "DEPLOYMENT" in _text(browser, 'section.workload[data-name="web"]').upper()
    actions = browser.execute_script(
        "return Array.from(document.querySelectorAll('section.workload[data-name=\"web\"] .write-action'))"
        ".map(a => a.dataset.action)"
    )
    assert {"scale", "restart", "delete"} <= set(actions)  # the admin may
    nodes = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.nodes tr[data-node]')).map(r => r.dataset.node)"
    )
    assert set(nodes) == {k.name for k in cluster.kubelets}
    assert HOSTILE in _text(browser, "table.events")  # shown as text
    _no_script_ran(browser)
    _wait(browser, lambda d: _text(d, "#live-state") == "live updates: on", 10)
    browser.save_screenshot(str(shots / "overview.png"))


def test_scaling_with_kubectl_shows_the_new_pod_without_a_reload(
    browser: Any, board: Dashboard, cluster: LocalCluster, ns: str, shots: Path
) -> None:
    browser.execute_script("window.__samePage = 'yes'")  # gone if the page were loaded again
    out = kubectl(cluster, "scale", "deployment/web", "--replicas=3", "-n", ns)
    assert out.returncode == 0, out.stderr
    _wait(browser, lambda d: len(_pod_statuses(d, "web")) == 3, 30, "a third pod row")
    _wait(browser, lambda d: _running(d, "web") == 3, 90, "3 pods of web Running")
    assert browser.execute_script("return window.__samePage") == "yes"
    browser.save_screenshot(str(shots / "scaled.png"))


def test_a_crashlooping_pod_is_marked_and_its_logs_open(
    browser: Any, board: Dashboard, cluster: LocalCluster, ns: str, shots: Path
) -> None:
    assert cluster.api is not None
    script = f"echo 'boom {HOSTILE}'; exit 1"
    pod = {"metadata": {"name": "crasher"},
           "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "app", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", script]}]}}  # fmt: skip
    assert cluster.api.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
    crashing = 'tr.pod-row.sev-bad[data-pod="crasher"] [data-status="CrashLoopBackOff"]'
    _wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, crashing), 90, "crasher marked CrashLoopBackOff"
    )
    background = browser.execute_script(
        "return getComputedStyle(document.querySelector('tr.pod-row[data-pod=\"crasher\"]')).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")  # the row stands out
    browser.save_screenshot(str(shots / "crashloop.png"))
    browser.set_window_size(1280, 1100)  # the whole overview in one picture (the README's)
    try:
        browser.save_screenshot(str(shots / "overview-tall.png"))
    finally:
        browser.set_window_size(1280, 800)

    def open_logs(d: Any) -> bool:
        """From the keyboard: focus the row's Logs link, press Enter (again if a live update replaced it)."""
        if "/logs" in d.current_url:
            return True
        link = d.find_element(
            By.CSS_SELECTOR, 'tr.pod-row[data-pod="crasher"] a[aria-label="Logs of crasher"]'
        )
        link.send_keys(Keys.ENTER)
        return "/logs" in d.current_url

    _wait(browser, open_logs, 10, "the crasher's logs page")
    _wait(browser, lambda d: "boom" in _text(d, "#log"), 30, "the crasher's log line")
    assert HOSTILE in _text(browser, "#log")
    _no_script_ran(browser)
    browser.save_screenshot(str(shots / "logs.png"))


def test_a_viewer_sees_no_write_buttons(browser: Any, cluster: LocalCluster, ns: str, shots: Path) -> None:
    assert cluster.api is not None and cluster.apiserver is not None
    binding = {
        "metadata": {"name": f"{ns}-viewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": VIEWER, "apiGroup": "rbac.authorization.k8s.io"}],
    }
    assert (
        cluster.api.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding).status_code
        == 201
    )
    kubeconfig = write_kubeconfig(
        cluster.tmp / "viewer.kubeconfig", cluster.apiserver, user=VIEWER, groups=()
    )
    # RBAC reads its caches: wait until the binding holds before the viewer looks.
    with cluster.apiserver.client(user=VIEWER, groups=()) as as_viewer:
        wait_until(lambda: as_viewer.get(f"/apis/apps/v1/namespaces/{ns}/deployments").status_code == 200, 10)
    with running_dashboard(kubeconfig, "--allow-writes") as viewer:
        browser.get(f"{viewer.url}/workloads?token={viewer.token}&namespace={ns}")
        _wait(browser, lambda d: _running(d, "web") == 3, 30, "the viewer sees web's 3 pods")
        assert not browser.find_elements(By.CSS_SELECTOR, ".write-action")
        browser.save_screenshot(str(shots / "viewer.png"))
        # The overview says what a viewer may not see (nodes) rather than failing.
        browser.get(f"{viewer.url}/?namespace={ns}")
        _wait(browser, lambda d: "You may not see nodes" in _text(d, "#main"), 10)
        assert not browser.find_elements(By.CSS_SELECTOR, ".write-action")


def test_the_overview_fits_a_phone(browser: Any, board: Dashboard, ns: str, shots: Path) -> None:
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{board.login_url}&namespace={ns}")
        _wait(browser, lambda d: _running(d, "web") == 3, 30)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone"
        browser.save_screenshot(str(shots / "phone.png"))
    finally:
        browser.set_window_size(1280, 800)

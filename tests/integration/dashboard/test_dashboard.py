"""The dashboard process against a real apiserver (no browser, no Docker): who may use it, what each user
sees, that nothing from the API becomes markup, the live stream, the YAML view and the confirmed actions."""

from __future__ import annotations

import json
import re
import signal
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests import factories, harness
from tests.dashboard import Dashboard, running_dashboard
from tests.harness import ApiServer
from tests.kube import write_kubeconfig
from tests.polling import wait_until

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(90)]

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
VIEWER = "dashboard-viewer"


def _deployment(name: str, replicas: int = 2) -> dict:
    return factories.deployment(
        name, replicas, "busybox", "c", labelled=False, metadata={"annotations": {"note": HOSTILE}}
    )


@pytest.fixture(scope="module")
def ns(apiserver: ApiServer) -> Iterator[str]:
    name = f"dash-{uuid.uuid4().hex[:6]}"
    with apiserver.client() as api:
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
        r = api.post(f"/apis/apps/v1/namespaces/{name}/deployments", json=_deployment("web"))
        assert r.status_code == 201, r.text
        event = {
            "metadata": {"name": "hostile.1"},
            "involvedObject": {"kind": "Deployment", "namespace": name, "name": "web"},
            "type": "Warning",
            "reason": "Hostile",
            "message": f"line one\r\nevent: update\r\ndata: {HOSTILE}",
        }
        assert api.post(f"/api/v1/namespaces/{name}/events", json=event).status_code == 201
        binding = {
            "metadata": {"name": f"{name}-viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": VIEWER, "apiGroup": "rbac.authorization.k8s.io"}],
        }
        assert (
            api.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding).status_code
            == 201
        )
        with apiserver.client(user=VIEWER, groups=()) as as_viewer:  # RBAC reads caches: wait until it holds
            wait_until(
                lambda: as_viewer.get(f"/apis/apps/v1/namespaces/{name}/deployments").status_code == 200, 10
            )
        try:
            yield name
        finally:
            api.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}-viewer")
            api.delete(f"/api/v1/namespaces/{name}")


def _kubeconfig(apiserver: ApiServer, tmp_path: Path, user: str | None = None) -> Path:
    path = tmp_path / f"kubeconfig-{user or 'admin'}"
    write_kubeconfig(path, apiserver, user=user, groups=() if user else None)
    return path


@pytest.fixture
def admin_board(apiserver: ApiServer, ns: str, tmp_path: Path) -> Iterator[Dashboard]:
    with running_dashboard(_kubeconfig(apiserver, tmp_path), "--allow-writes") as board:
        yield board


def test_every_page_needs_the_token_and_a_loopback_host(admin_board: Dashboard) -> None:
    with httpx.Client(base_url=admin_board.url, trust_env=False) as anon:
        assert anon.get("/").status_code == 401
        assert anon.get("/", params={"token": "not-it"}).status_code == 401
        assert anon.get("/metrics").status_code == 401
        assert anon.get("/events/overview").status_code == 401
        assert anon.get("/healthz").text == "ok"
        # A DNS-rebound name pointing at 127.0.0.1 is refused even with the token.
        rebound = anon.get(f"/?token={admin_board.token}", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 421
        # The token in the URL becomes an HttpOnly cookie and leaves the URL.
        first = anon.get("/workloads", params={"token": admin_board.token, "namespace": "x"})
        assert first.status_code == 303 and first.headers["location"] == "/workloads?namespace=x"
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert anon.get("/").status_code == 200  # the cookie now
        page = anon.get("/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_nothing_from_the_api_becomes_markup(admin_board: Dashboard, ns: str) -> None:
    with admin_board.client() as c:
        # The overview's warnings carry the event's message; the YAML view the annotation.
        for path in ["/", f"/yaml?apiVersion=apps/v1&resource=deployments&namespace={ns}&name=web"]:
            html = c.get(path).text
            assert "window.__xss" in html, path  # the hostile text is shown...
            assert "<script>window" not in html and "<img src=x" not in html, path  # ...as text
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, path


def test_bad_input_is_a_400_page_and_missing_objects_a_404(admin_board: Dashboard, ns: str) -> None:
    with admin_board.client() as c:
        for path in ["/yaml?apiVersion=v1&resource=pods&namespace=..&name=x",
                     "/yaml?apiVersion=../../api&resource=pods&namespace=a&name=x",
                     "/yaml?apiVersion=v1&resource=pods&namespace=a&name=x%0A",
                     "/workloads?namespace=Bad_NS", "/events/nope",
                     f"/pods/{ns}/x/logs?container=%3Cb%3E"]:  # fmt: skip
            r = c.get(path)
            assert r.status_code == 400, (path, r.status_code, r.text[:300])
        r = c.get(f"/yaml?apiVersion=v1&resource=pods&namespace={ns}&name=missing")
        assert r.status_code == 404 and "not found" in r.text


def test_the_live_stream_sends_a_new_body_when_a_workload_appears(
    admin_board: Dashboard, apiserver: ApiServer, ns: str
) -> None:
    name = f"late-{uuid.uuid4().hex[:4]}"
    with (
        admin_board.client(timeout=httpx.Timeout(10, read=20)) as c,
        c.stream("GET", "/events/workloads", params={"namespace": ns}) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        bodies: list[str] = []

        def next_update() -> str:
            for line in lines:
                if line.startswith("data: "):
                    return str(json.loads(line[6:])["html"])
            raise AssertionError("the stream ended")

        bodies.append(next_update())  # the first render after the watches listed
        assert 'data-name="web"' in bodies[0] and f'data-name="{name}"' not in bodies[0]
        with apiserver.client() as api:
            r = api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=_deployment(name, 1))
            assert r.status_code == 201
        while f'data-name="{name}"' not in bodies[-1]:
            bodies.append(next_update())


def test_a_viewer_gets_no_write_buttons_and_cannot_act(apiserver: ApiServer, ns: str, tmp_path: Path) -> None:
    with (
        running_dashboard(_kubeconfig(apiserver, tmp_path, VIEWER), "--allow-writes") as board,
        board.client() as c,
    ):
        html = c.get("/workloads", params={"namespace": ns}).text
        assert 'data-name="web"' in html
        assert "write-action" not in html
        assert "You may not see nodes" in c.get("/").text  # view has no nodes: said, not a failure
        form = {"csrf": "", "verb": "scale", "group": "apps", "resource": "deployments", "namespace": ns,
                "name": "web", "replicas": "5"}  # fmt: skip
        assert c.post("/actions", data=form).status_code == 403  # no CSRF token: refused before anything


def test_a_read_only_dashboard_offers_no_actions(apiserver: ApiServer, ns: str, tmp_path: Path) -> None:
    with running_dashboard(_kubeconfig(apiserver, tmp_path)) as board, board.client() as c:
        assert "write-action" not in c.get("/workloads", params={"namespace": ns}).text
        r = c.get("/confirm", params={"verb": "delete", "group": "apps", "resource": "deployments",
                                       "namespace": ns, "name": "web"})  # fmt: skip
        assert r.status_code == 400 and "read-only" in r.text


def test_scale_is_confirmed_then_done_as_the_user(
    admin_board: Dashboard, apiserver: ApiServer, ns: str
) -> None:
    with admin_board.client(follow_redirects=False) as c:
        html = c.get("/workloads", params={"namespace": ns}).text
        assert 'data-action="scale"' in html and 'data-action="delete"' in html
        confirm = c.get("/confirm", params={"verb": "scale", "group": "apps", "resource": "deployments",
                                             "namespace": ns, "name": "web", "back": "/workloads"})  # fmt: skip
        assert confirm.status_code == 200 and 'name="replicas"' in confirm.text
        csrf = confirm.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"csrf": csrf, "verb": "scale", "group": "apps", "resource": "deployments", "namespace": ns,
                "name": "web", "replicas": "3", "back": "//evil.example/"}  # fmt: skip
        wrong = c.post("/actions", data={**form, "csrf": "x" + csrf})
        assert wrong.status_code == 403
        done = c.post("/actions", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/"  # not to another site
    with apiserver.client() as api:
        wait_until(
            lambda: api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"] == 3,
            5,
        )


def test_beyond_loopback_it_serves_https_only_with_the_token(apiserver: ApiServer, tmp_path: Path) -> None:
    pki = harness.test_pki()
    cert, key = pki.serving("kubelite-dashboard-test")
    flags = ["--address", "0.0.0.0", "--tls-cert-file", str(cert), "--tls-private-key-file", str(key)]
    verify = ssl.create_default_context(cafile=pki.ca_file)
    with running_dashboard(_kubeconfig(apiserver, tmp_path), *flags, verify=verify) as board:
        assert board.url.startswith("https://")
        assert "HTTPS certificate SHA-256 fingerprint:" in board.log()
        with httpx.Client(trust_env=False) as plain, pytest.raises(httpx.HTTPError):
            plain.get(board.url.replace("https://", "http://") + "/healthz")
        with httpx.Client(base_url=board.url, verify=verify, trust_env=False) as anon:
            assert anon.get("/").status_code == 401
            first = anon.get("/", params={"token": board.token})
            assert first.status_code == 303 and "secure" in first.headers["set-cookie"].lower()
            # No loopback Host rule here (it is not on loopback), but still the token.
            assert anon.get("/", headers={"Host": "dashboard.example"}).status_code == 200
    # Without certificate files it makes one for the run and prints the fingerprint it serves.
    with running_dashboard(_kubeconfig(apiserver, tmp_path), "--address", "0.0.0.0", verify=False) as board:
        printed = re.search(r"fingerprint: ([0-9A-F:]+)", board.log())
        assert printed is not None
        host, port = board.url.removeprefix("https://").rsplit(":", 1)
        served = ssl.get_server_certificate((host, int(port)))
        served_fp = (
            x509.load_pem_x509_certificate(served.encode()).fingerprint(hashes.SHA256()).hex(":").upper()
        )
        assert served_fp == printed.group(1)


def test_sigterm_stops_it_promptly_with_a_stream_open(apiserver: ApiServer, ns: str, tmp_path: Path) -> None:
    with running_dashboard(_kubeconfig(apiserver, tmp_path)) as board, board.client(timeout=10) as c:
        with c.stream("GET", "/events/overview") as stream:
            assert next(stream.iter_lines()).startswith("retry:")
            board.proc.send_signal(signal.SIGTERM)
            assert board.proc.wait(timeout=8) == 0
        assert "Application shutdown complete" in board.log()  # the user's client was closed

"""The node proxy's path handling: which requests are node-proxy requests, and which kubelet paths may be built."""

from __future__ import annotations

import pytest

from apimachinery.errors import StatusError
from apiserver.nodeproxy import kubelet_path, match


def test_match() -> None:
    assert match("/api/v1/nodes/n1/proxy/stats/summary") == ("n1", "/stats/summary")
    assert match("/api/v1/nodes/n1/proxy") == ("n1", "")
    assert match("/api/v1/nodes/n1/proxy/") == ("n1", "/")
    assert match("/api/v1/nodes/n1") is None
    assert match("/api/v1/nodes/n1/status") is None
    assert match("/api/v1/nodes/n1/proxyx/a") is None
    assert match("/api/v1/namespaces/x/pods/p/proxy/a") is None


@pytest.mark.parametrize(
    ("path", "built"),
    [("", "/"), ("/", "/"), ("/stats/summary", "/stats/summary"), ("/metrics/resource", "/metrics/resource"),
     ("/containerLogs/ns/p/c", "/containerLogs/ns/p/c"), ("/a b/", "/a%20b/"), ("/x?y", "/x%3Fy")],
)  # fmt: skip
def test_kubelet_paths(path: str, built: str) -> None:
    assert kubelet_path(path) == built


@pytest.mark.parametrize(
    "path",
    ["/../etc/passwd", "/stats/../../x", "/./stats", "//evil.example/x", "/a//b", "http://x/y", "stats"],
)
def test_paths_that_could_leave_the_kubelet_api_are_refused(path: str) -> None:
    with pytest.raises(StatusError) as err:
        kubelet_path(path)
    assert err.value.code == 400

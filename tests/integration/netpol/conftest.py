"""A node of our own without Docker: network namespaces for the node and its "pods", a bridge, veth pairs, and a
kube-netpol whose iptables and ipset commands act inside the node's namespace (through wrappers first on its PATH:
`ip netns exec NODE /usr/sbin/iptables ...`), while the agent itself talks to the test apiserver on loopback.

The pods are API objects whose status the test writes (podIP on the bridge's subnet), and small Python servers and
clients run in their namespaces. Nothing touches the host's own filter table or sets; every namespace, process
and file goes away at teardown. Traffic stays between these namespaces (10.77.x.0/24 exists only inside them).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.netpol.helpers import need_tools
from tests.integration.netpol.netns import (
    NetnsNode,
)


@pytest.fixture
def node(apiserver: ApiServer) -> Iterator[NetnsNode]:
    need_tools()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-netpol-ns-"))
    api = apiserver.client()
    n = NetnsNode(api, apiserver, tmp)
    refused: list[str] = []
    try:
        n.setup()
        yield n
    finally:
        refused = n.teardown()
        api.close()
        shutil.rmtree(tmp, ignore_errors=True)
    # The agent's own identity was enough for everything it did (tests.harness.forbidden_lines).
    assert refused == [], refused

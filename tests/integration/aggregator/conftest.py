"""An apiserver with the aggregation layer wired as `kctl up` wires it (frontproxy.py), and the metrics APIService
kept registered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ApiServer, running_apiserver
from tests.harness import test_pki as cluster_pki
from tests.integration.aggregator.frontproxy import FrontProxy, apiserver_args, make_front_proxy


@pytest.fixture(scope="module")
def front_proxy(tmp_path_factory: pytest.TempPathFactory) -> FrontProxy:
    return make_front_proxy(tmp_path_factory.mktemp("front-proxy"))


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory, front_proxy: FrontProxy) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("aggregator-apiserver")
    with running_apiserver(
        None, ["--data-dir", str(data), *apiserver_args(front_proxy, cluster_pki().ca_file)]
    ) as running:
        yield running

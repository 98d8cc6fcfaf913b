"""A private etcd + apiserver for the allocation tests: they fill address pools, which must not be shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ApiServer, need_etcd, own_apiserver


@pytest.fixture(scope="module")
def pool_apiserver() -> Iterator[ApiServer]:
    need_etcd()
    with own_apiserver() as server:
        yield server

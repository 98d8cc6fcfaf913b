"""Shared fixtures: a real etcd for the session, a real apiserver per module (or per test when it is restarted)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ApiServer, Etcd, need_etcd, running_apiserver

# A skip never passes quietly (tests/skip_policy.py); images are built before the timed tests (tests/prebuild.py).
pytest_plugins = ["tests.skip_policy", "tests.prebuild"]


@pytest.fixture(scope="session")
def etcd() -> Iterator[Etcd]:
    """One etcd for the whole run; tests use unique names or key prefixes so they do not see each other."""
    need_etcd()
    server = Etcd()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def private_etcd() -> Iterator[Etcd]:
    """An etcd of the test's own, for tests that stop or restart it."""
    need_etcd()
    server = Etcd()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    """A real apiserver on loopback backed by the session etcd."""
    with running_apiserver(etcd.url) as server:
        yield server


@pytest.fixture
def private_apiserver(private_etcd: Etcd) -> Iterator[ApiServer]:
    with running_apiserver(private_etcd.url) as server:
        yield server

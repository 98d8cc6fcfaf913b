"""Shared fixtures: a real etcd for the session, a real apiserver per module (or per test when it is restarted)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.harness import ApiServer, Etcd, running_apiserver, running_etcd

# A skip never passes quietly (tests/skip_policy.py); images are built before the timed tests (tests/prebuild.py).
pytest_plugins = ["tests.skip_policy", "tests.prebuild"]


@pytest.fixture(scope="session")
def etcd() -> Iterator[Etcd]:
    """One etcd for the whole run; tests use unique names or key prefixes so they do not see each other."""
    with running_etcd() as server:
        yield server


@pytest.fixture
def private_etcd() -> Iterator[Etcd]:
    """An etcd of the test's own, for tests that stop or restart it."""
    with running_etcd() as server:
        yield server


@pytest.fixture(scope="module")
def apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    """A real apiserver on loopback backed by the session etcd."""
    with running_apiserver(etcd.url) as server:
        yield server


@pytest.fixture
def private_apiserver(private_etcd: Etcd) -> Iterator[ApiServer]:
    with running_apiserver(private_etcd.url) as server:
        yield server


@pytest.fixture(autouse=True)
def no_leftover_tasks(request: pytest.FixtureRequest) -> None:
    """Every coroutine test fails if it leaves asyncio tasks running (informers, electors, recorders, servers
    must be stopped). Set up before the test's other fixtures, so it checks after they are torn down."""
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        request.getfixturevalue("_no_leftover_tasks")


@pytest.fixture
async def _no_leftover_tasks() -> AsyncIterator[None]:
    yield
    current = asyncio.current_task()
    deadline = time.monotonic() + 1.0
    while True:
        # httpx's nested stream generators are finalized by short-lived tasks that the loop creates on garbage
        # collection; those finish by themselves. Anything still running after a second is a real leak.
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not left or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    assert not left, f"tasks left running: {left}"

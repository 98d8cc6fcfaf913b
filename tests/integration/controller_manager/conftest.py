"""Fixtures for controller-manager tests: the manager as a real process (`client` and `namespace` come from
tests/integration/conftest.py), and a stand-in kubelet.

`PodReadier` plays the part of the kubelet for tests that need pods to become ready without containers: it
watches pods in a namespace and writes Running + Ready=True + a pod IP through the status subresource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests import components
from tests.components import Component
from tests.harness import ApiServer


@pytest.fixture
def start_manager(apiserver: ApiServer) -> Iterator[Callable[..., Component]]:
    """Start controller-manager processes for one test; all of them are stopped at its end."""
    with components.managers(apiserver) as start:
        yield start


@pytest.fixture(scope="module")
def manager(apiserver: ApiServer) -> Iterator[Component]:
    """One manager with every controller for a whole test module (most tests only need it running)."""
    with components.checked(components.start_manager(apiserver)) as m:
        yield m

"""Fixtures of the apiserver tests: `crd`, a CustomResourceDefinition of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.apiserver.crds import CRD


@pytest.fixture
def crd(api: httpx.Client) -> Iterator[CRD]:
    definition = CRD(api)
    definition.create()
    yield definition
    definition.delete()

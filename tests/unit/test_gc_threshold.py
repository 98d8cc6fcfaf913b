"""The apiserver collects cyclic garbage less often than CPython's default (#24): with a full watch cache the
default thresholds made a 500-pod page from storage ~5x slower. KUBELITE_GC_THRESHOLD overrides, validated."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from apiserver.server import GC_THRESHOLD, tune_collector


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_default_collects_less_often_than_cpython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBELITE_GC_THRESHOLD", raising=False)
    gc.set_threshold(700, 10, 10)
    tune_collector()
    assert gc.get_threshold() == GC_THRESHOLD
    assert GC_THRESHOLD[0] > 700


@pytest.mark.parametrize("raw", ["abc", "1,2", "0,10,10", "-5,1,1", "1,2,3,4"])
def test_a_bad_override_keeps_the_default(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("KUBELITE_GC_THRESHOLD", raw)
    tune_collector()
    assert gc.get_threshold() == GC_THRESHOLD


def test_an_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELITE_GC_THRESHOLD", "700,10,10")
    tune_collector()
    assert gc.get_threshold() == (700, 10, 10)

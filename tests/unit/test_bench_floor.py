"""The pure parts of the apiserver benchmark's floor (bench/floor.py, bench/cpu.py, bench/apiserver.py)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from apimachinery import serialization
from bench.apiserver import cpu_bound, cpu_medians, floors_recorded
from bench.common import rotation
from bench.cpu import CpuMeter, Reading, machine_jiffies, stat_seconds, tree_seconds
from bench.floor import PREFIX, answered, floor_key


def test_floor_key_is_the_collection_path_and_the_name() -> None:
    body = {"metadata": {"name": "web-1"}}
    assert floor_key("/api/v1/namespaces/ns/pods", body) == f"{PREFIX}/api/v1/namespaces/ns/pods/web-1"
    assert floor_key("/api/v1/namespaces/ns/pods/", body) == f"{PREFIX}/api/v1/namespaces/ns/pods/web-1"


@pytest.mark.parametrize("body", [None, [], "x", {}, {"metadata": []}, {"metadata": {"name": ""}},
                                  {"metadata": {"name": 3}}, {"metadata": {"generateName": "a-"}}])  # fmt: skip
def test_floor_key_refuses_a_body_without_a_name(body: object) -> None:
    assert floor_key("/api/v1/namespaces/ns/pods", body) is None


def test_the_answer_carries_the_revision_and_leaves_the_object_alone() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "a"}}
    assert serialization.loads(answered(obj, 42)) == {
        "kind": "Pod",
        "metadata": {"name": "a", "resourceVersion": "42"},
    }
    assert obj == {"kind": "Pod", "metadata": {"name": "a"}}


def test_rotation_reverses_the_order_every_other_round() -> None:
    assert list(rotation(["a", "b", "c"], 3)) == [
        (0, ["a", "b", "c"]),
        (1, ["c", "b", "a"]),
        (2, ["a", "b", "c"]),
    ]
    assert list(rotation(["a"], 0)) == []


def test_floors_recorded_gives_medians_ratios_and_per_round_ratios() -> None:
    raw, api = [10000.0, 20000.0, 12000.0], [1000.0, 2000.0, 1500.0]
    floors = {"floor": [4000.0, 5000.0, 6000.0], "raw_txn": [8000.0, 9000.0, 10000.0]}
    figures, ratios, samples = floors_recorded(raw, api, floors)
    assert figures == {"floor_create_per_s": 5000.0, "raw_txn_per_s": 9000.0}
    assert ratios["floor_vs_raw_put"] == ("floor_create_per_s", "raw_put_per_s")
    assert ratios["create_vs_floor"] == ("api_create_per_s", "floor_create_per_s")
    assert ratios["raw_txn_vs_raw_put"] == ("raw_txn_per_s", "raw_put_per_s")
    assert ratios["create_vs_raw_txn"] == ("api_create_per_s", "raw_txn_per_s")
    per_round = samples["create_vs_floor (per round)"]
    assert per_round["n"] == 3 and per_round["min"] == 0.25 and per_round["max"] == 0.4
    assert samples["floor_vs_raw_put (per round)"]["p50"] == 0.4
    with pytest.raises(ValueError):  # a missing round is an error, not a silently shorter list
        floors_recorded(raw, api, {"floor": [1.0, 2.0]})
    assert floors_recorded(raw, api, {}) == ({}, {}, {})


def test_cpu_bound_is_all_cores_over_the_cpu_of_a_write() -> None:
    cpu = {"api": {"client": 100.0, "server": 500.0, "etcd": 200.0, "machine_busy": 1.0},
           "none": {"client": 0.0, "server": 0.0, "etcd": 0.0, "machine_busy": 0.0}}  # fmt: skip
    assert cpu_bound(cpu, 2) == {"api": 2500.0}


def test_cpu_medians_per_side_and_process() -> None:
    rounds = [
        {"server": 100.0, "etcd": 30.0},
        {"server": 300.0, "etcd": 10.0},
        {"server": 200.0, "etcd": 20.0},
    ]
    assert cpu_medians({"api": rounds, "raw": []}) == {"api": {"server": 200.0, "etcd": 20.0}}


def test_stat_seconds_counts_user_and_system_time_past_an_odd_command_name() -> None:
    fields = ["S"] + [str(i) for i in range(4, 14)] + ["250", "150"] + ["0"] * 30
    line = "1234 (a ) b (c) " + " ".join(fields)
    assert stat_seconds(line, tick=100) == 4.0


def test_machine_jiffies_busy_is_all_but_idle_and_iowait() -> None:
    line = "cpu  100 5 50 1000 20 1 2 3 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n"
    assert machine_jiffies(line) == (161, 1181)


def test_cpu_meter_reads_this_process_and_divides_per_operation() -> None:
    meter = CpuMeter({"client": [os.getpid()], "nobody": []}, alone=["client"])
    before = meter.read()
    sum(i * i for i in range(300_000))  # some CPU time
    after = meter.read()
    assert after.seconds["client"] >= before.seconds["client"] and after.seconds["nobody"] == 0
    used = CpuMeter.per_op(Reading({"x": 1.0}, 10, 100), Reading({"x": 1.5}, 40, 200), 1000)
    assert used == {"x": 500.0, "machine_busy": 0.3}
    assert tree_seconds([os.getpid()], with_descendants=False) > 0


def test_the_report_line_of_the_floor() -> None:
    from bench.report import floor_lines

    per_round = {"n": 3, "min": 0.3, "max": 0.4}
    result = {
        "figures": {"floor_create_per_s": 6000.0, "cpu_us_per_write": {"api": {"client": 80.0, "server": 450.0,
                                                                               "etcd": 170.0, "machine_busy": 0.8}}},
        "ratios": {"floor_vs_raw_put": {"value": 0.33}, "create_vs_floor": {"value": 0.38}},
        "samples": {"floor_vs_raw_put (per round)": per_round},
    }  # fmt: skip
    lines = floor_lines(result)
    assert lines[0] == (
        "Floor (etcd, same run): floor server, 1 process 6,000/s = 33% of raw puts (30%-40% over 3), "
        "API creates 38% of it."
    )
    assert lines[1] == (
        "CPU µs per write, client / server / etcd (share of the cores busy; the rate all cores could do at that CPU "
        "per write): api 80 / 450 / 170 (80% busy)."
    )
    result["figures"]["cpu_bound_per_s"] = {"api": 2857.1}
    assert floor_lines(result)[1].endswith("api 80 / 450 / 170 (80% busy, at most 2,857/s).")
    assert floor_lines({"figures": {}, "ratios": {}, "samples": {}}) == []


def test_the_in_process_scope_carries_the_client_certificate_as_the_tls_layer_would() -> None:
    from apimachinery.tlsserve import client_cert_subject
    from bench.floor_inproc import http_scope

    scope = http_scope("POST", "/api/v1/namespaces/bench/pods", b"{}", ("alice", ("devs",)))
    assert client_cert_subject(scope) == ("alice", ("devs",))
    assert (b"content-length", b"2") in scope["headers"] and scope[
        "raw_path"
    ] == b"/api/v1/namespaces/bench/pods"
    assert not any(name == b"content-length" for name, _ in http_scope("GET", "/api/v1/pods", b"")["headers"])


async def test_an_in_process_call_sends_the_body_and_collects_the_answer() -> None:
    from bench.floor_inproc import call

    async def echo(scope: dict[str, object], receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": body[:2], "more_body": True})
        await send({"type": "http.response.body", "body": body[2:] + str(scope["method"]).encode()})

    assert await call(echo, "POST", "/x", b"hello") == (201, b"helloPOST")

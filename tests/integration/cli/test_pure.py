"""The pure parts of kctl, without a server: layout, JSONPath, the three-way patch, argument handling,
completion."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from apimachinery.jsonpath import render
from cli.errors import CLIError
from cli.session import hoist_globals, parse_duration
from cli.tabwriter import align, table
from cli.threeway import three_way_patch
from tests.harness import REPO


def test_table_layout_matches_go_tabwriter():
    assert table([["NAME", "READY"], ["nginx", "1/1"], ["a", "0/1"]]) == (
        "NAME    READY\nnginx   1/1\na       0/1\n"
    )
    assert table([["IP", "X"], ["1", "y"]]) == "IP    X\n1     y\n"  # minwidth 6
    # A line without cells ends a block; columns are sized per block (describe's padding 2).
    assert align("Name:\tx\nLonger label:\ty\nIPs:\n  IP:\t1\n", 0, 2) == (
        "Name:          x\nLonger label:  y\nIPs:\n  IP:  1\n"
    )


def test_jsonpath():
    data = {
        "items": [
            {"metadata": {"name": "a"}, "spec": {"n": 1}},
            {"metadata": {"name": "b"}, "spec": {"n": 2}},
        ]
    }
    assert render("{.items[*].metadata.name}", data) == "a b"
    assert render('{range .items[*]}{.metadata.name}:{.spec.n}{"\\n"}{end}', data) == "a:1\nb:2\n"
    assert render("{.items[?(@.spec.n>1)].metadata.name}", data) == "b"
    assert render("{.items[-1].metadata}", data) == '{"name":"b"}'
    assert render("{.missing}", data) == ""
    assert render("{..name}", data) == "a b"


def test_three_way_patch():
    original = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {"containers": [{"name": "c", "image": "x", "env": [{"name": "A", "value": "1"}]}]}
            },
        },
    }
    modified = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "y"}, {"name": "d", "image": "z"}]}}
        },
    }
    current = {
        "metadata": {"labels": {"a": "1", "b": "live"}, "uid": "u"},
        "spec": {
            "replicas": 5,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "x",
                            "env": [{"name": "A", "value": "1"}],
                            "imagePullPolicy": "Always",
                        }
                    ]
                }
            },
        },
    }
    patch = three_way_patch(original, modified, current, "Deployment")
    assert patch == {
        "spec": {
            "replicas": None,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "d"}],
                    "containers": [{"name": "c", "env": None, "image": "y"}, {"name": "d", "image": "z"}],
                }
            },
        }
    }
    assert three_way_patch(modified, modified, {**modified, "status": {"x": 1}}, "Deployment") == {}
    # A container removed from the manifest is deleted by its merge key.
    patch = three_way_patch(modified, original, modified, "Deployment")
    assert {"name": "d", "$patch": "delete"} in patch["spec"]["template"]["spec"]["containers"]


def test_global_flags_may_come_anywhere():
    assert hoist_globals(["get", "pods", "-n", "web", "-o", "wide"]) == [
        "-n",
        "web",
        "get",
        "pods",
        "-o",
        "wide",
    ]
    assert hoist_globals(["get", "--context=x", "po"]) == ["--context=x", "get", "po"]
    assert hoist_globals(["run", "x", "--image=i", "--", "sh", "-n", "1"]) == [
        "run",
        "x",
        "--image=i",
        "--",
        "sh",
        "-n",
        "1",
    ]


def test_durations():
    assert parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_duration("12") == 12
    with pytest.raises(CLIError):
        parse_duration("soon")


def test_shell_completion_of_types():
    env = {**os.environ, "_KCTL_COMPLETE": "complete_bash", "COMP_WORDS": "kctl get dep", "COMP_CWORD": "2"}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert out.stdout.split() == ["deploy", "deployments"]

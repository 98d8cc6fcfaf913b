"""apimachinery/component.py's run_hosted, the heart of a host process (componenthost/): two main coroutines in one
process, each logging under its own name at its own level; SIGTERM stops both (exit 0, each ran its cleanup); one
that ends by itself stops the other (exit 1, or its own exit code). Run in a child process, as a host runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.harness import REPO

HOST = """
import argparse, asyncio, logging, sys
from apimachinery.component import ComponentMain, run_hosted

def parse(argv):
    return argparse.Namespace(log_level=argv[0], end=argv[1])

async def amain(args):
    log = logging.getLogger("test")
    log.debug("debug line")
    log.info("started")
    try:
        if args.end == "crash":
            await asyncio.sleep(0.2)
            raise RuntimeError("boom")
        if args.end == "exit":
            await asyncio.sleep(0.2)
            raise SystemExit(3)
        await asyncio.sleep(3600)
    finally:
        log.warning("cleaned up")

one, two = ComponentMain("one", parse, amain), ComponentMain("two", parse, amain)
print("ready", file=sys.stderr, flush=True)
run_hosted("host", [(one, one.parse(["DEBUG", sys.argv[1]])), (two, two.parse(["INFO", sys.argv[2]]))])
"""


def _run(one: str, two: str, stop: bool = False) -> tuple[int, list[dict[str, str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOST, one, two], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "ready"
    lines: list[dict[str, str]] = []
    if stop:  # once both have started
        deadline = time.monotonic() + 20
        while len([x for x in lines if x.get("msg") == "started"]) < 2 and time.monotonic() < deadline:
            lines.append(json.loads(proc.stderr.readline()))
        proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=20)
    lines += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    return proc.returncode, lines


def _said(lines: list[dict[str, str]], component: str, msg: str) -> bool:
    return any(x["component"] == component and x["msg"] == msg for x in lines)


def test_sigterm_stops_every_component_and_each_logs_as_itself() -> None:
    code, lines = _run("run", "run", stop=True)
    assert code == 0, lines
    assert _said(lines, "one", "debug line") and not _said(lines, "two", "debug line")  # each its own level
    assert _said(lines, "one", "cleaned up") and _said(lines, "two", "cleaned up")
    assert _said(lines, "host", "signal received, shutting down")


def test_a_crash_stops_the_others_and_the_process_exits_1() -> None:
    code, lines = _run("run", "crash")
    assert code == 1, lines
    assert _said(lines, "two", "component crashed")
    assert _said(lines, "one", "cleaned up")
    stop = [x for x in lines if x["msg"] == "a component ended: stopping the others of this process"]
    assert stop and stop[0]["component"] == "host" and stop[0]["ended"] == ["two"]


def test_a_components_own_exit_code_is_the_process_s() -> None:
    code, lines = _run("exit", "run")
    assert code == 3, lines
    assert _said(lines, "one", "component exited") and _said(lines, "two", "cleaned up")

"""A host process of `kctl up`: several components in one Python interpreter, as k3s runs several in one binary.

    python -m componenthost NAME '[["kube-scheduler", "scheduler", ["--kubeconfig", "...", ...]], ...]'

Each component is exactly the one `python -m <module> FLAGS...` runs, with the same flags: its own kubeconfig and
identity, its own informers and connections to the apiserver, its own /healthz and /metrics port with its own
registry, its own `component` in the log lines. Only the interpreter is shared, which saves the ~30 MiB every
Python process costs before it does anything (bench/idle_memory.py). SIGTERM stops them all; should one of them end
(crash or exit), the others are stopped and the process exits 1, and the supervisor restarts it with all it hosts
(apimachinery/component.py, run_hosted).

The components are loaded by module name, `<module>.__main__`'s `main` (an apimachinery.component.ComponentMain):
this package imports no component, and no component imports another (pyproject.toml's import-linter contracts).
The supervisor (cli/supervisor.py) builds this command line from the components' own ones in cluster.json.
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import importlib
import json
import sys

from apimachinery.component import ComponentMain, run_hosted

# The components a host may run: each serves its main coroutine through ComponentMain. The apiserver runs alone
# (the CPU-bound one; uvicorn runs its own loop).
MODULES = frozenset(
    {"controller_manager", "scheduler", "kubelet", "kube_proxy", "kube_dns", "netpol", "metrics_server"}
)


def load(spec: str) -> list[tuple[ComponentMain, argparse.Namespace]]:
    """Each [name, module, flags] of the JSON `spec`: its entry point and its parsed flags (a bad flag exits 2 with
    that component's usage, as it would alone)."""
    try:
        entries = json.loads(spec)
        if not isinstance(entries, list) or not entries:
            raise ValueError("not a non-empty list")
        parsed = [(str(name), str(module), [str(f) for f in flags]) for name, module, flags in entries]
    except (ValueError, TypeError) as exc:
        raise SystemExit(
            f"componenthost: the components must be a JSON list of [name, module, flags]: {exc}"
        ) from None
    out = []
    for name, module, flags in parsed:
        if module not in MODULES:
            raise SystemExit(
                f"componenthost: {module!r} is not a component a host runs ({', '.join(sorted(MODULES))})"
            )
        main = importlib.import_module(f"{module}.__main__").main
        if not isinstance(main, ComponentMain) or main.name != name:
            raise SystemExit(f"componenthost: {module}.__main__ does not run {name!r}")
        args = main.parse(flags)
        if getattr(args, "cleanup", False):
            raise SystemExit(f"componenthost: {name} --cleanup runs in a process of its own")
        out.append((main, args))
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit(__doc__)
    run_hosted(argv[0], load(argv[1]))


if __name__ == "__main__":
    main()

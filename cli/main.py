"""kctl: the kubectl-like command line of kubelite.

The entry point only wires: global options -> `Globals`, one typer sub-app per concern, and the one place
where errors become a single line on stderr with exit code 1 (never a traceback; `KCTL_DEBUG=1` shows it).
Adding a command group is one line in `SUBCOMMANDS` (merged commands) or `GROUPS` (`kctl <group> ...`).
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from cli import (
    apply,
    config,
    cp,
    dashboard,
    delete,
    describe,
    exec,
    get,
    image,
    info,
    join,
    logs,
    mutate,
    nodes,
    portforward,
    rollout,
    token,
    top,
    up,
    wait,
)
from cli.errors import describe as describe_error
from cli.session import GLOBALS, hoist_globals

app = typer.Typer(
    name="kctl",
    help="kctl controls a kubelite (or any Kubernetes) cluster, like kubectl.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Commands merged into the top level (`kctl get`, `kctl apply`...).
SUBCOMMANDS: list[typer.Typer] = [
    get.app,
    describe.app,
    apply.app,
    delete.app,
    mutate.app,
    logs.app,
    exec.app,
    cp.app,
    portforward.app,
    wait.app,
    nodes.app,
    info.app,
    up.app,
    join.app,
    dashboard.app,
    top.app,
]
# Command groups (`kctl config view`, `kctl rollout status`...).
GROUPS: dict[str, typer.Typer] = {
    "config": config.app,
    "rollout": rollout.app,
    "image": image.app,
    "token": token.app,
}

for _sub in SUBCOMMANDS:
    app.add_typer(_sub)
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)


@app.callback()
def _globals(
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Path to the kubeconfig file", envvar=None),
    context: str = typer.Option(None, "--context", help="The kubeconfig context to use"),
    server: str = typer.Option(None, "-s", "--server", help="The address of the API server"),
    token: str = typer.Option(None, "--token", help="Bearer token for authentication"),
    namespace: str = typer.Option(None, "-n", "--namespace", help="The namespace scope of this request"),
    request_timeout: str = typer.Option(
        None, "--request-timeout", help="Give up on a request after this long (e.g. 5s, 1m); 0 = no limit"
    ),
) -> None:
    """kctl controls a kubelite (or any Kubernetes) cluster, like kubectl.

    The options here are global: they may also be given after the command (kctl get pods -n web).
    """
    GLOBALS.kubeconfig = kubeconfig
    GLOBALS.context = context
    GLOBALS.server = server
    GLOBALS.token = token
    GLOBALS.namespace = namespace
    GLOBALS.request_timeout = request_timeout


def _first_error(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def run(argv: list[str]) -> int:
    """Run one kctl command line; return its exit code. Output goes to sys.stdout / sys.stderr."""
    args = hoist_globals(argv)
    try:
        result = app(args, prog_name="kctl", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return 130
    except typer.TyperException as exc:
        # Usage errors (unknown option, missing argument...): typer's own copy of click raises them.
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 0  # `kctl` or `kctl rollout` alone: the help was printed, as kubectl does
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {message}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise  # shell completion exits on purpose
    except BrokenPipeError:
        # `kctl get pods | head`: the reader went away; not an error worth a message.
        sys.stderr.close()
        return 0
    except BaseException as exc:
        err = _first_error(exc)
        if isinstance(err, KeyboardInterrupt):
            return 130
        if os.environ.get("KCTL_DEBUG"):
            traceback.print_exception(exc)
        print(describe_error(err, GLOBALS.server_hint), file=sys.stderr)
        return 1


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()

"""`kctl dashboard`: the web dashboard (the `dashboard` package) for the current context, as this user.

The dashboard is a component of its own (components never import each other), so this command only turns
kctl's options into its command line and replaces this process with it: Ctrl-C and SIGTERM then reach the
dashboard's server directly.
"""

from __future__ import annotations

import os
import sys

import typer

from cli.errors import CLIError
from cli.session import GLOBALS

app = typer.Typer()


def dashboard_argv(
    *,
    port: int,
    address: str,
    no_open: bool,
    allow_writes: bool,
    tls_cert_file: str | None,
    tls_key_file: str | None,
) -> list[str]:
    if GLOBALS.server or GLOBALS.token:
        raise CLIError(
            "kctl dashboard uses a kubeconfig context; --server and --token are not supported here"
        )
    argv = [sys.executable, "-m", "dashboard", "--port", str(port), "--address", address]
    if GLOBALS.kubeconfig:
        argv += ["--kubeconfig", GLOBALS.kubeconfig]
    if GLOBALS.context:
        argv += ["--context", GLOBALS.context]
    if no_open:
        argv.append("--no-open")
    if allow_writes:
        argv.append("--allow-writes")
    if tls_cert_file or tls_key_file:
        argv += ["--tls-cert-file", tls_cert_file or "", "--tls-private-key-file", tls_key_file or ""]
    return argv


@app.command("dashboard")
def dashboard(
    port: int = typer.Option(8686, "--port", help="Port to listen on (0: any free port)"),
    address: str = typer.Option(
        "127.0.0.1", "--address", help="Address to listen on; beyond loopback a token is required"
    ),
    no_open: bool = typer.Option(False, "--no-open", help="Do not open a browser"),
    allow_writes: bool = typer.Option(
        False, "--allow-writes", help="Offer scale, rollout restart and delete"
    ),
    tls_cert_file: str = typer.Option(
        None, "--tls-cert-file", help="HTTPS certificate (default beyond loopback: made per run)"
    ),
    tls_key_file: str = typer.Option(None, "--tls-private-key-file", help="Its private key"),
) -> None:
    """Serve a web dashboard of the current context with your own credentials (read-only by default)."""
    argv = dashboard_argv(
        port=port, address=address, no_open=no_open, allow_writes=allow_writes,
        tls_cert_file=tls_cert_file, tls_key_file=tls_key_file,
    )  # fmt: skip
    sys.stdout.flush()
    os.execv(argv[0], argv)

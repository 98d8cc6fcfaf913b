"""kubelite-dashboard (what `kctl dashboard` runs): a web UI for the current kubeconfig context, as its user.

Only wires: options -> the user's ClientConfig -> the app -> uvicorn on a socket bound here (so `--port 0`
works and the URL printed is the real one). It listens on 127.0.0.1 unless told otherwise; wherever it
listens, the printed URL carries the access token without which it answers 401 (security.py); beyond loopback
it serves HTTPS only (tls.py).
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import ipaddress
import signal
import socket
import sys
import webbrowser

import uvicorn

from apimachinery.component import setup_logging
from apimachinery.kubeconfig import KubeconfigError, load
from dashboard import tls
from dashboard.app import Settings, create_app
from dashboard.security import is_loopback

DEFAULT_PORT = 8686


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kctl dashboard", description=__doc__.splitlines()[0])
    p.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    p.add_argument("--context", default=None, help="kubeconfig context (default: current-context)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0: any)"
    )
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser")
    p.add_argument("--allow-writes", action="store_true", help="offer scale, rollout restart and delete")
    p.add_argument(
        "--tls-cert-file", default=None, help="HTTPS certificate (beyond loopback; default: made per run)"
    )
    p.add_argument("--tls-private-key-file", default=None, help="its private key")
    args = p.parse_args(argv)
    try:
        ipaddress.ip_address(args.address)
    except ValueError:
        p.error(f"--address must be an IP address, not {args.address!r}")
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0-65535")
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        p.error("--tls-cert-file and --tls-private-key-file go together")
    return args


def bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging("dashboard")
    try:
        config = load(args.kubeconfig, args.context)
    except KubeconfigError as exc:
        sys.exit(f"error: {exc}")
    loopback = is_loopback(args.address)
    app = create_app(
        Settings(
            config=config, context=config.context or "", allow_writes=args.allow_writes, loopback=loopback
        )
    )
    try:
        sock = bind(args.address, args.port)
    except OSError as exc:
        sys.exit(f"error: cannot listen on {args.address}:{args.port}: {exc.strerror}")
    # Beyond loopback always HTTPS: the token must not cross a network in clear.
    serving = None
    if not loopback or args.tls_cert_file:
        serving = (
            tls.given(args.tls_cert_file, args.tls_private_key_file)
            if args.tls_cert_file
            else tls.throwaway(args.address)
        )
    host, port = sock.getsockname()[:2]
    if ipaddress.ip_address(host).is_unspecified:
        host = socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if serving else "http"
    url = f"{scheme}://{shown}:{port}/?token={app.state.keys.token}"
    print(f"kubelite dashboard for context {config.context or '(default)'} at {config.server}", flush=True)
    if serving:
        print(f"HTTPS certificate SHA-256 fingerprint: {serving.fingerprint}", flush=True)
    print(f"Open: {url}", flush=True)
    if not args.no_open:
        webbrowser.open(url)
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_config=None, access_log=False, timeout_graceful_shutdown=2, lifespan="on",
            ssl_certfile=serving.cert_file if serving else None, ssl_keyfile=serving.key_file if serving else None,
        )
    )  # fmt: skip
    # uvicorn shuts down on SIGTERM, then raises the signal again: let that end the process with status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.run(sockets=[sock])
    finally:
        if serving:
            serving.cleanup()


if __name__ == "__main__":
    main()

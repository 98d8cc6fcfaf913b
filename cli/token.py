"""`kctl token create|list|delete`: bootstrap tokens for joining machines, as `kubeadm token` manages them
(apimachinery/bootstraptoken.py has the formats).

`create` also makes sure kube-public/cluster-info exists (a kubeconfig with the cluster's address and CA, no
credentials: what a joining machine reads anonymously and the controller-manager signs with each token), and
prints the `kctl join` command for the new token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import typer
import yaml

from apimachinery import bootstraptoken as bt
from apimachinery.client import Client
from apimachinery.errors import StatusError, is_already_exists, is_not_found
from apimachinery.kubeconfig import load
from apimachinery.timefmt import format_time, human_duration
from cli.errors import CLIError
from cli.session import GLOBALS, parse_duration, run
from cli.tabwriter import table
from cli.targets import builtin

app = typer.Typer(help="Manage bootstrap tokens (for `kctl join`).", no_args_is_help=True)

SECRETS = builtin("secrets")
CONFIGMAPS = builtin("configmaps")
DEFAULT_TTL = 24 * 3600.0


def cluster_info_kubeconfig(server: str, ca_pem: bytes) -> str:
    """The kubeconfig cluster-info carries: one cluster, no user (kubeadm's)."""
    import base64

    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "contexts": [],
        "users": [],
        "preferences": {},
        "current-context": "",
    }
    return yaml.safe_dump(data, sort_keys=False)


def cluster_info_of(obj: dict[str, Any]) -> tuple[str, bytes]:
    """(server, CA PEM) of a cluster-info ConfigMap; ValueError when it does not hold one cluster."""
    import base64

    config = yaml.safe_load((obj.get("data") or {}).get("kubeconfig") or "")
    clusters = config.get("clusters") if isinstance(config, dict) else None
    if not isinstance(clusters, list) or len(clusters) != 1:
        raise ValueError("cluster-info does not hold exactly one cluster")
    cluster = clusters[0].get("cluster") or {}
    return str(cluster.get("server") or ""), base64.b64decode(cluster.get("certificate-authority-data") or "")


async def ensure_cluster_info(
    client: Client, server: str, ca_pem: bytes, *, replace: bool = False
) -> dict[str, Any]:
    """The cluster-info ConfigMap, created for `server` and `ca_pem` when missing; an existing one wins unless
    `replace` (`kctl up --advertise-address` publishes the address it was given)."""
    body = {
        "metadata": {"name": bt.CLUSTER_INFO, "namespace": bt.CLUSTER_INFO_NAMESPACE},
        "data": {"kubeconfig": cluster_info_kubeconfig(server, ca_pem)},
    }
    try:
        return await client.create(CONFIGMAPS, body, bt.CLUSTER_INFO_NAMESPACE)  # type: ignore[no-any-return]
    except StatusError as err:
        if not is_already_exists(err):
            raise
    if replace:
        patch = {"data": body["data"]}
        return await client.patch(CONFIGMAPS, bt.CLUSTER_INFO, patch, bt.CLUSTER_INFO_NAMESPACE)  # type: ignore[no-any-return]
    return await client.get(CONFIGMAPS, bt.CLUSTER_INFO, bt.CLUSTER_INFO_NAMESPACE)  # type: ignore[no-any-return]


def join_command(server: str, token: bt.Token, ca_pem: bytes) -> str:
    return f"kctl join {server} --token {token} --discovery-token-ca-cert-hash {bt.ca_cert_hash(ca_pem)}"


def _client_ca() -> bytes:
    config = GLOBALS.client_config()
    if config.ca_data:
        return config.ca_data.encode()
    if config.ca_file:
        return Path(config.ca_file).read_bytes()
    raise CLIError("the kubeconfig has no certificate authority: cannot publish cluster-info")


async def create_token(
    client: Client, token: bt.Token, ttl: float, description: str, ca_pem: bytes, *, server: str = ""
) -> tuple[str, bytes]:
    """Store `token` and make sure cluster-info exists; (the cluster's address, its CA) as cluster-info says."""
    now = dt.datetime.now(dt.UTC)
    try:
        secret = bt.token_secret(token, ttl=ttl, now=now, description=description)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    info = await ensure_cluster_info(client, server or client.server, ca_pem, replace=bool(server))
    try:
        await client.create(SECRETS, secret, bt.NAMESPACE)
    except StatusError as err:
        if is_already_exists(err):
            raise CLIError(f"a token with id {token.id!r} exists already") from err
        raise
    try:
        return cluster_info_of(info)
    except ValueError as exc:
        raise CLIError(f"kube-public/cluster-info is broken: {exc}") from exc


@app.command("create")
def create(
    token: str = typer.Argument(None, help="The token to store (default: a new random one)"),
    ttl: str = typer.Option("24h", "--ttl", help="How long the token lives (0: forever)"),
    description: str = typer.Option("", "--description", help="A note kept with the token"),
) -> None:
    """Create a bootstrap token and print the `kctl join` command that uses it."""
    try:
        chosen = bt.Token.parse(token) if token else bt.Token.generate()
    except bt.InvalidToken as exc:
        raise CLIError(str(exc)) from exc
    seconds = parse_duration(ttl, DEFAULT_TTL)
    if seconds is None or seconds < 0:
        raise CLIError(f"invalid --ttl {ttl!r}")
    ca_pem = _client_ca()
    server, ca = run(lambda c: create_token(c, chosen, seconds, description, ca_pem))
    print(join_command(server, chosen, ca))


def token_rows(secrets: list[dict[str, Any]], now: dt.datetime) -> list[list[str]]:
    """kubeadm token list's rows: TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS (pure)."""
    rows = []
    for secret in secrets:
        if secret.get("type") != bt.SECRET_TYPE:
            continue
        data = bt.secret_data(secret)
        when = bt.expiration(data)
        ttl = (
            "<forever>"
            if when is None
            else ("<invalid>" if when <= now else human_duration((when - now).total_seconds()))
        )
        usages = ",".join(
            u.removeprefix("usage-bootstrap-")
            for u in (bt.USAGE_AUTHENTICATION, bt.USAGE_SIGNING)
            if data.get(u) == "true"
        )
        rows.append([
            f"{data.get('token-id', '')}.{data.get('token-secret', '')}",
            ttl,
            format_time(when) if when else "<never>",
            usages or "<none>",
            data.get("description") or "<none>",
            data.get(bt.EXTRA_GROUPS) or "<none>",
        ])  # fmt: skip
    return rows


@app.command("list")
def list_() -> None:
    """List the bootstrap tokens."""

    async def fetch(client: Client) -> list[dict[str, Any]]:
        found = await client.list(SECRETS, bt.NAMESPACE, field_selector=f"type={bt.SECRET_TYPE}")
        return list(found.get("items") or [])

    rows = token_rows(run(fetch), dt.datetime.now(dt.UTC))
    print(table([["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"], *rows]), end="")


@app.command("delete")
def delete(tokens: list[str] = typer.Argument(..., help="Tokens or token ids to delete")) -> None:
    """Delete bootstrap tokens (by the whole token or by its id)."""
    ids = []
    for text in tokens:
        token_id = text.partition(".")[0]
        if bt.ID_RE.fullmatch(token_id) is None:
            raise CLIError(f"{text!r} is not a bootstrap token or token id ([a-z0-9]{{6}})")
        ids.append(token_id)

    async def remove(client: Client) -> list[str]:
        done = []
        for token_id in ids:
            try:
                await client.delete(SECRETS, bt.secret_name(token_id), bt.NAMESPACE)
            except StatusError as err:
                if is_not_found(err):
                    raise CLIError(f'bootstrap token "{token_id}" not found') from err
                raise
            done.append(f'bootstrap token "{token_id}" deleted')
        return done

    for line in run(remove):
        print(line)


def first_join_command(creds: Any, server: str) -> str:
    """For `kctl up --advertise-address`: cluster-info for `server` and a new 24h token; the join command."""
    token = bt.Token.generate()
    ca_pem = creds.ca.read_bytes()

    async def make() -> tuple[str, bytes]:
        async with Client(load(creds.kubeconfig("admin")), user_agent="kctl-up") as client:
            return await create_token(client, token, DEFAULT_TTL, "made by kctl up", ca_pem, server=server)

    _, ca = asyncio.run(make())
    return join_command(server, token, ca)

"""`kctl config view|get-contexts|current-context|use-context|set-context|set-cluster|set-credentials`.

Reads merge every file of $KUBECONFIG (or --kubeconfig) by kubectl's rules; writes change the one file
that `--kubeconfig` names, else the first file of $KUBECONFIG, else ~/.kube/config.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from apimachinery.kubeconfig import KubeconfigError, default_paths, merge_files, write_file
from cli import printing
from cli.errors import CLIError
from cli.session import GLOBALS
from cli.tabwriter import table

app = typer.Typer(help="Modify and view kubeconfig files.", no_args_is_help=True)

SECRET_FIELDS = ("client-certificate-data", "client-key-data", "token", "password")


def _paths() -> list[Path]:
    if GLOBALS.kubeconfig:
        return [Path(GLOBALS.kubeconfig).expanduser()]
    return default_paths()


def _merged() -> dict[str, Any]:
    return merge_files(_paths())


def _target_file() -> Path:
    paths = _paths()
    for p in paths:
        if p.exists():
            return p
    return paths[0]


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [],
            "users": [],
            "contexts": [],
        }
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _entry(items: list[dict[str, Any]], name: str, inner: str) -> dict[str, Any] | None:
    for item in items:
        if item.get("name") == name:
            item.setdefault(inner, {})
            return item[inner]  # type: ignore[no-any-return]
    return None


def _as_file(merged: dict[str, Any]) -> dict[str, Any]:
    def section(key: str, inner: str) -> list[dict[str, Any]]:
        return [{"name": n, inner: v} for n, v in merged[key].items()]

    return {
        "apiVersion": "v1",
        "clusters": section("clusters", "cluster"),
        "contexts": section("contexts", "context"),
        "current-context": merged.get("current-context", ""),
        "kind": "Config",
        "preferences": {},
        "users": section("users", "user"),
    }


@app.command()
def view(
    minify: bool = typer.Option(False, "--minify", help="Only what the current context uses"),
    raw: bool = typer.Option(False, "--raw", help="Show certificates and tokens"),
    output: str = typer.Option("yaml", "-o", "--output", help="yaml|json|jsonpath=..."),
) -> None:
    """Display the merged kubeconfig (secrets redacted unless --raw)."""
    merged = copy.deepcopy(_merged())
    if minify:
        name = GLOBALS.context or merged["current-context"]
        ctx = merged["contexts"].get(name)
        if ctx is None:
            raise CLIError(f'current-context must exist in order to minify (context "{name}" not found)')
        merged["contexts"] = {name: ctx}
        merged["clusters"] = {k: v for k, v in merged["clusters"].items() if k == ctx.get("cluster")}
        merged["users"] = {k: v for k, v in merged["users"].items() if k == ctx.get("user")}
        merged["current-context"] = name
    if not raw:
        for user in merged["users"].values():
            for key in SECRET_FIELDS:
                if key in user:
                    user[key] = "REDACTED" if key in ("token", "password") else "DATA+OMITTED"
        for cluster in merged["clusters"].values():
            if "certificate-authority-data" in cluster:
                cluster["certificate-authority-data"] = "DATA+OMITTED"
    data = _as_file(merged)
    printing.validate_output(output, ("yaml", "json", "jsonpath=..."))
    sys.stdout.write(printing.format_objects([(None, data)], output, True))


@app.command("get-contexts")
def get_contexts(
    names: list[str] = typer.Argument(None, help="Only these contexts"),
    output: str = typer.Option(None, "-o", "--output", help="name: only the names"),
    no_headers: bool = typer.Option(False, "--no-headers"),
) -> None:
    """List the contexts of the kubeconfig; '*' marks the current one."""
    merged = _merged()
    current = merged.get("current-context", "")
    wanted = names or list(merged["contexts"])
    missing = [n for n in wanted if n not in merged["contexts"]]
    if missing:
        raise CLIError(f"context {missing[0]} not found")
    if output == "name":
        sys.stdout.write("".join(n + "\n" for n in wanted))
        return
    rows = [] if no_headers else [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
    for n in wanted:
        c = merged["contexts"][n]
        rows.append(
            ["*" if n == current else "", n, c.get("cluster", ""), c.get("user", ""), c.get("namespace", "")]
        )
    sys.stdout.write(table(rows))


@app.command("current-context")
def current_context() -> None:
    """Print the current context."""
    current = _merged().get("current-context")
    if not current:
        raise CLIError("current-context is not set")
    print(current)


@app.command("use-context")
def use_context(name: str = typer.Argument(..., help="Context name")) -> None:
    """Make NAME the current context."""
    if name not in _merged()["contexts"]:
        raise CLIError(f'no context exists with the name: "{name}"')
    path = _target_file()
    data = _read_file(path)
    data["current-context"] = name
    write_file(path, data)
    print(f'Switched to context "{name}".')


def _upsert(section: str, inner: str, name: str, values: dict[str, Any]) -> bool:
    path = _target_file()
    data = _read_file(path)
    items = data.setdefault(section, []) or []
    data[section] = items
    entry = _entry(items, name, inner)
    created = entry is None
    if entry is None:
        entry = {}
        items.append({"name": name, inner: entry})
    entry.update({k: v for k, v in values.items() if v is not None})
    write_file(path, data)
    return created


@app.command("set-context")
def set_context(
    name: str | None = typer.Argument(None, help="Context name (or --current)"),
    current: bool = typer.Option(False, "--current", help="Modify the current context"),
    cluster: str = typer.Option(None, "--cluster"),
    user: str = typer.Option(None, "--user"),
    namespace: str | None = typer.Option(None, "--namespace", help="Default namespace of the context"),
) -> None:
    """Create or modify a context (e.g. `kctl config set-context --current --namespace=web`)."""
    if current:
        name = _merged().get("current-context") or ""
        if not name:
            raise CLIError("no current context is set")
    if not name:
        raise CLIError("you must specify a context name or --current")
    # `-n` is a global flag, so `set-context --current -n web` arrives as the global namespace.
    namespace = namespace or GLOBALS.namespace
    created = _upsert("contexts", "context", name, {"cluster": cluster, "user": user, "namespace": namespace})
    print(f'Context "{name}" {"created" if created else "modified"}.')


@app.command("set-cluster")
def set_cluster(
    name: str = typer.Argument(...),
    server: str | None = typer.Option(None, "--server"),
    certificate_authority: str = typer.Option(None, "--certificate-authority"),
    insecure_skip_tls_verify: bool | None = typer.Option(None, "--insecure-skip-tls-verify"),
) -> None:
    """Create or modify a cluster entry."""
    server = server or GLOBALS.server
    _upsert(
        "clusters",
        "cluster",
        name,
        {
            "server": server,
            "certificate-authority": certificate_authority,
            "insecure-skip-tls-verify": insecure_skip_tls_verify,
        },
    )
    print(f'Cluster "{name}" set.')


@app.command("set-credentials")
def set_credentials(
    name: str = typer.Argument(...),
    token: str | None = typer.Option(None, "--token"),
    client_certificate: str = typer.Option(None, "--client-certificate"),
    client_key: str = typer.Option(None, "--client-key"),
) -> None:
    """Create or modify a user entry."""
    token = token or GLOBALS.token
    _upsert(
        "users",
        "user",
        name,
        {"token": token, "client-certificate": client_certificate, "client-key": client_key},
    )
    print(f'User "{name}" set.')

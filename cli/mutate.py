"""Commands that make or change one kind of thing: run, expose, scale, label, annotate, edit."""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import resolve
from apimachinery.validation.syntax import is_label_value, is_qualified_name
from cli import builders, completion, printing
from cli.apply import report
from cli.errors import CLIError, ManifestError, status_line
from cli.manifests import parse_documents
from cli.session import namespace_of, run
from cli.targets import parse_targets, single_target
from cli.threeway import two_way_patch

app = typer.Typer()


@app.command("run")
def run_(
    name: str = typer.Argument(..., help="Name of the pod"),
    cmd: list[str] = typer.Argument(
        None, help="After '--': the container's args (or command, with --command)"
    ),
    image: str = typer.Option(..., "--image", help="Container image"),
    port: int = typer.Option(None, "--port", help="Container port to expose"),
    env: list[str] = typer.Option(None, "--env", help="KEY=VALUE environment variables"),
    labels: str = typer.Option(None, "--labels", "-l", help="k=v,k2=v2 labels (default run=NAME)"),
    restart: str = typer.Option("Always", "--restart", help="Always|OnFailure|Never"),
    command: bool = typer.Option(False, "--command", help="Use the words after '--' as the command"),
    image_pull_policy: str = typer.Option(None, "--image-pull-policy"),
    dry_run: str = typer.Option(
        "none", "--dry-run", help="none|client: print the object instead of creating it"
    ),
    output: str = typer.Option(None, "-o", "--output", help="yaml|json|name"),
) -> None:
    """Create a pod running one container (as kubectl run)."""
    words = list(cmd or [])
    obj = builders.pod(
        name,
        image,
        labels=builders.parse_pairs([labels], "labels") if labels else None,
        port=port,
        env=builders.parse_pairs(env or [], "env"),
        restart=restart,
        command=words if command else None,
        args=None if command else words,
        pull_policy=image_pull_policy,
        namespace=namespace_of(),
    )
    res = resolve("pods")
    assert res is not None
    if dry_run == "client":
        if output in ("yaml", "json"):
            sys.stdout.write(printing.format_objects([(res, obj)], output, True))
        else:
            print(f"pod/{name} created (dry run)")
        return

    async def go(client: Client) -> None:
        created = await client.create(res, obj, field_manager="kubectl-run")
        report(created, res, "created", output)

    run(go)


@app.command()
def expose(
    args: list[str] = typer.Argument(
        ..., help="TYPE NAME or TYPE/NAME (deployment, replicaset, pod, service)"
    ),
    port: int = typer.Option(None, "--port", help="The service port (default: the container port)"),
    target_port: str = typer.Option(None, "--target-port", help="Container port number or name"),
    type_: str = typer.Option(None, "--type", help="ClusterIP|NodePort|LoadBalancer"),
    name: str = typer.Option(None, "--name", help="Service name (default: the object's)"),
    protocol: str = typer.Option("TCP", "--protocol"),
    selector: str = typer.Option(None, "--selector", help="k=v,... pod selector (default: the object's)"),
    output: str = typer.Option(None, "-o", "--output", help="yaml|json|name"),
) -> None:
    """Expose a deployment, replica set, pod or service as a new Service."""
    res, obj_name = single_target(args, "expose")

    async def go(client: Client) -> None:
        ns = namespace_of()
        obj = await client.get(res, obj_name, ns)
        obj.setdefault("kind", res.kind)
        sel = builders.parse_pairs([selector], "labels") if selector else builders.selector_of(obj)
        ports = [port] if port else builders.ports_of(obj)
        if not ports:
            raise CLIError("couldn't find port via --port flag or introspection")
        svc = builders.service(
            name or obj_name,
            sel,
            ports,
            target_port,
            type_,
            protocol,
            (obj.get("metadata") or {}).get("labels"),
            ns,
        )
        svc_res = resolve("services")
        assert svc_res is not None
        created = await client.create(svc_res, svc, field_manager="kubectl-expose")
        report(created, svc_res, "exposed", output)

    run(go)


@app.command()
def scale(
    args: list[str] = typer.Argument(..., help="TYPE NAME... or TYPE/NAME..."),
    replicas: int = typer.Option(..., "--replicas", help="The new number of replicas"),
    current_replicas: int = typer.Option(
        -1, "--current-replicas", help="Only scale if this is the current size"
    ),
) -> None:
    """Set a new size for deployments or replica sets (through their /scale subresource)."""
    if replicas < 0:
        raise CLIError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    targets = parse_targets(args)

    async def go(client: Client) -> None:
        ns = namespace_of()
        for t in targets:
            if "scale" not in t.res.subresources:
                raise CLIError(f"cannot scale {t.res.qualified}: it has no scale subresource")
            for n in t.names:
                if current_replicas >= 0:
                    current = await client.get(t.res, n, ns, subresource="scale")
                    have = (current.get("spec") or {}).get("replicas", 0)
                    if have != current_replicas:
                        raise CLIError(f"Expected replicas to be {current_replicas}, was {have}")
                    current["spec"]["replicas"] = replicas
                    await client.update(t.res, current, ns, subresource="scale")
                else:
                    await client.patch(
                        t.res, n, {"spec": {"replicas": replicas}}, ns, "merge", subresource="scale"
                    )
                print(f"{printing.kind_prefix(t.res)}/{n} scaled")

    run(go)


_OP = re.compile(r"^(?P<key>[^=]+)(=(?P<value>.*)|(?P<remove>-))$")


def _split_ops(args: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """Positional args into resource args and key changes (`k=v` sets, `k-` removes); the first is a type."""
    targets: list[str] = []
    ops: dict[str, str | None] = {}
    for i, a in enumerate(args):
        m = _OP.match(a) if i > 0 else None
        if m:
            ops[m.group("key")] = None if m.group("remove") else m.group("value") or ""
        else:
            targets.append(a)
    return targets, ops


def _change_metadata(
    field: str,
    args: list[str],
    selector: str | None,
    all_: bool,
    overwrite: bool,
    all_namespaces: bool,
) -> None:
    targets_args, ops = _split_ops(args)
    if not ops:
        raise CLIError(f"at least one {field[:-1]} update is required")
    if field == "labels":
        for k, v in ops.items():
            problems = is_qualified_name(k) + (is_label_value(v) if v else [])
            if problems:
                raise CLIError(f"invalid label {k}{'=' + v if v is not None else ''}: {'; '.join(problems)}")
    targets = parse_targets(targets_args)
    verb = "labeled" if field == "labels" else "annotated"

    async def go(client: Client) -> bool:
        ns = namespace_of(all_namespaces)
        failed = False
        for t in targets:
            if t.names:
                objs = []
                for n in t.names:
                    try:
                        objs.append(await client.get(t.res, n, ns))
                    except StatusError as err:
                        if not is_not_found(err):
                            raise
                        print(status_line(err), file=sys.stderr)
                        failed = True
            elif selector or all_:
                objs = (await client.list_all(t.res, ns if t.res.namespaced else None, selector or None))[
                    "items"
                ]
            else:
                raise CLIError("resource(s) were provided, but no name was specified (use --all or -l)")
            for obj in objs:
                meta = obj.get("metadata") or {}
                current: dict[str, str] = dict(meta.get(field) or {})
                patch: dict[str, str | None] = {}
                for k, v in ops.items():
                    if v is None:
                        if k not in current:
                            print(f'{field[:-1]} "{k}" not found.', file=sys.stderr)
                            continue
                        patch[k] = None
                    elif k in current and current[k] != v and not overwrite:
                        raise CLIError(f"'{k}' already has a value ({current[k]}), and --overwrite is false")
                    elif current.get(k) != v:
                        patch[k] = v
                name = f"{printing.kind_prefix(t.res)}/{meta['name']}"
                if not patch:
                    print(f"{name} not {verb}")
                    continue
                await client.patch(
                    t.res, meta["name"], {"metadata": {field: patch}}, meta.get("namespace"), "merge"
                )
                only_removed = all(v is None for v in patch.values())
                print(f"{name} {'un' + verb if only_removed and field == 'labels' else verb}")
        return failed

    if run(go):
        raise typer.Exit(1)


def _metadata_command(field: str) -> Callable[..., None]:
    """`kctl label` (field "labels") or `kctl annotate` ("annotations"): the same options, the same rules."""

    def command(
        args: list[str] = typer.Argument(..., help="TYPE NAME... KEY=VALUE... KEY-..."),
        selector: str = typer.Option(None, "-l", "--selector"),
        all_: bool = typer.Option(False, "--all"),
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
        overwrite: bool = typer.Option(False, "--overwrite", help="Allow replacing existing values"),
    ) -> None:
        _change_metadata(field, args, selector, all_, overwrite, all_namespaces)

    command.__doc__ = f"Add, change (--overwrite) or remove (KEY-) {field}."
    return command


label = app.command("label")(_metadata_command("labels"))
annotate = app.command("annotate")(_metadata_command("annotations"))


EDIT_HEADER = """# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
"""


def _editor() -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@app.command()
def edit(
    args: list[str] = typer.Argument(
        ..., help="TYPE NAME or TYPE/NAME", autocompletion=completion.resource_args
    ),
    output: str = typer.Option("yaml", "-o", "--output", help="yaml|json: the format to edit in"),
) -> None:
    """Edit a resource in $KUBE_EDITOR / $EDITOR (default vi) and apply the change."""
    res, name = single_target(args, "edit")

    async def fetch(client: Client) -> dict[str, Any]:
        return await client.get(res, name, namespace_of())  # type: ignore[no-any-return]

    original = run(fetch)
    original.setdefault("apiVersion", res.api_version)
    original.setdefault("kind", res.kind)
    text = printing.to_json(original) if output == "json" else printing.to_yaml(original)
    fd, path = tempfile.mkstemp(prefix=f"kctl-edit-{name}-", suffix=".json" if output == "json" else ".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(EDIT_HEADER + text)
    try:
        rc = subprocess.call([*_editor(), path])
    except OSError as exc:
        Path(path).unlink(missing_ok=True)
        raise CLIError(f"cannot start the editor {_editor()[0]!r}: {exc.strerror}") from exc
    if rc != 0:
        Path(path).unlink(missing_ok=True)
        raise CLIError(f"the editor exited with status {rc}; no changes made")
    edited_text = _strip_comments(Path(path).read_text())
    if not edited_text.strip():
        Path(path).unlink(missing_ok=True)
        print("Edit cancelled, no changes made.")
        return
    try:
        docs = parse_documents(edited_text, path)
        if len(docs) != 1:
            raise ManifestError(f"error parsing {path}: expected exactly one object")
    except ManifestError as exc:
        raise CLIError(f"{exc} (a copy of your changes has been stored to {path!r})") from exc
    edited = docs[0]
    patch = two_way_patch(copy.deepcopy(original), edited, res.kind)
    if not patch:
        Path(path).unlink(missing_ok=True)
        print("Edit cancelled, no changes made.")
        return

    async def save(client: Client) -> None:
        result = await client.patch(
            res, name, patch, namespace_of(), "strategic", field_manager="kubectl-edit"
        )
        report(result, res, "edited", None)

    try:
        run(save)
    except StatusError as err:
        print(status_line(err), file=sys.stderr)
        raise CLIError(f"a copy of your changes has been stored to {path!r}") from err
    Path(path).unlink(missing_ok=True)

"""`kctl create` and `kctl apply`: manifests to the server.

apply (client-side, as kubectl): the manifest is stored in the `kubectl.kubernetes.io/last-applied-configuration`
annotation; a live object is changed with a three-way strategic merge patch (see `cli.threeway`), and nothing
is sent when the patch is empty ("unchanged"). `--server-side` sends the manifest as an apply patch (field
manager `kubectl`, as kubectl's) and lets the server merge; a conflict with another manager's fields fails unless
`--force-conflicts`. Like kubectl, it then moves an object that was applied client-side to server-side apply:
the last-applied annotation gets an Apply owner of its own (`kubectl-last-applied`), the client-side manager's
fields are folded into the applier's (cli.csaupgrade), and the manifest is applied once more so that fields it
dropped go.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict, is_invalid, is_not_found
from apimachinery.resources import ResourceInfo, resolve
from cli import builders, csaupgrade, manifests, printing
from cli.errors import CLIError, status_line
from cli.manifests import Manifest
from cli.session import GLOBALS, namespace_of, run
from cli.threeway import three_way_patch

app = typer.Typer()

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SSA_MANAGER = (
    "kubectl"  # kubectl's server-side apply manager; the server treats it specially (see fieldmanager)
)
LAST_APPLIED_MANAGER = "kubectl-last-applied"
MAX_PATCH_RETRIES = 5
CONFLICT_ADVICE = """Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"""


def place(m: Manifest, res: ResourceInfo) -> dict[str, Any]:
    """The manifest with its namespace settled: the file's, or -n / the context's; a clash is an error."""
    obj = copy.deepcopy(m.obj)
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and not meta.get("generateName"):
        raise CLIError(
            f'error when retrieving current configuration of "{m.source}": resource name may not be empty'
        )
    if res.namespaced:
        ns = namespace_of()
        if meta.get("namespace") and GLOBALS.namespace and meta["namespace"] != GLOBALS.namespace:
            raise CLIError(
                f'the namespace from the provided object "{meta["namespace"]}" does not match the namespace '
                f"\"{GLOBALS.namespace}\". You must pass '--namespace={meta['namespace']}' to perform this operation."
            )
        meta["namespace"] = meta.get("namespace") or ns
    else:
        meta.pop("namespace", None)
    return obj


def with_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` carrying its own configuration (without that annotation) in the last-applied annotation."""
    clean = copy.deepcopy(obj)
    annotations = clean.get("metadata", {}).get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if not annotations:
        clean.get("metadata", {}).pop("annotations", None)
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("annotations", {})[LAST_APPLIED] = (
        json.dumps(clean, sort_keys=True, separators=(",", ":")) + "\n"
    )
    return out


@app.command()
def create(
    args: list[str] = typer.Argument(
        None,
        help="Or: namespace NAME | deployment NAME --image=IMAGE | job NAME (--image=IMAGE | --from=cronjob/X)"
        " | cronjob NAME --image=IMAGE --schedule=SCHEDULE; words after '--' are the command",
    ),
    filename: list[str] = typer.Option(None, "-f", "--filename", help="Manifest files, directories or '-'"),
    recursive: bool = typer.Option(False, "-R", "--recursive"),
    image: list[str] = typer.Option(
        None, "--image", help="create deployment|job|cronjob: container image(s)"
    ),
    replicas: int = typer.Option(1, "-r", "--replicas", help="create deployment: replicas"),
    port: int = typer.Option(None, "--port", help="create deployment: container port"),
    schedule: str = typer.Option(None, "--schedule", help="create cronjob: the schedule in cron format"),
    restart: str = typer.Option("OnFailure", "--restart", help="create cronjob: OnFailure or Never"),
    from_: str = typer.Option(
        None, "--from", help="create job: the resource to take the Job from (cronjob/NAME)"
    ),
    output: str = typer.Option(None, "-o", "--output", help="name|yaml|json"),
) -> None:
    """Create resources from manifests (-f), or a namespace / deployment / job / cronjob by name."""

    async def from_args(client: Client) -> bool:
        if len(args) < 2:
            raise CLIError("create needs -f FILE, or: namespace|deployment|job|cronjob NAME ...")
        kind, name, command = args[0], args[1], list(args[2:])
        res = resolve(kind)
        if command and (res is None or res.resource not in ("jobs", "cronjobs")):
            raise CLIError(f"unexpected arguments: {' '.join(command)}")
        if res is not None and res.resource == "namespaces":
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        elif res is not None and res.resource == "deployments":
            if not image:
                raise CLIError('required flag(s) "image" not set')
            obj = builders.deployment(name, image, replicas, port, namespace_of())
        elif res is not None and res.resource == "jobs":
            obj = await _job_object(client, name, image, from_, command)
        elif res is not None and res.resource == "cronjobs":
            if not image or not schedule:
                raise CLIError(
                    f"required flag(s) {', '.join(f for f, v in (('image', image), ('schedule', schedule)) if not v)} not set"
                )
            obj = builders.cronjob(name, image[0], schedule, command, restart, namespace_of())
        else:
            raise CLIError(f"kctl create {kind} is not supported; use -f with a manifest")
        created = await client.create(res, obj, field_manager="kubectl-create")
        report(created, res, "created", output)
        return False

    async def from_files(client: Client) -> bool:
        failed = False
        for m in manifests.load(filename, recursive):
            res = m.resource()
            obj = place(m, res)
            try:
                created = await client.create(res, obj, field_manager="kubectl-create")
            except StatusError as err:
                print(status_line(err, f'error when creating "{m.source}"'), file=sys.stderr)
                failed = True
                continue
            report(created, res, "created", output)
        return failed

    if filename:
        failed = run(from_files)
    elif args:
        failed = run(from_args)
    else:
        raise CLIError("must specify one of -f and -k")
    if failed:
        raise typer.Exit(1)


async def _job_object(
    client: Client, name: str, image: list[str] | None, source: str | None, command: list[str]
) -> dict[str, Any]:
    """The Job of `create job`: from --image (and the command), or from a CronJob's template (--from)."""
    if bool(image) == bool(source):
        raise CLIError("either --image or --from must be specified")
    if image:
        return builders.job(name, image[0], command, namespace_of())
    kind, _, source_name = (source or "").partition("/")
    res = resolve(kind)
    if res is None or res.resource != "cronjobs" or not source_name:
        raise CLIError(f"from must be an existing cronjob: {source}")
    if command:
        raise CLIError("cannot specify --from and command")
    cronjob = await client.get(res, source_name, namespace_of())
    return builders.job_from_cronjob(cronjob, name, namespace_of())


def report(obj: dict[str, Any], res: ResourceInfo, verb: str, output: str | None) -> None:
    if output in ("yaml", "json"):
        sys.stdout.write(printing.format_objects([(res, obj)], output, True))
    elif output == "name":
        print(printing.object_name(obj, res))
    else:
        print(f"{printing.object_name(obj, res)} {verb}")


@app.command()
def apply(
    filename: list[str] = typer.Option(None, "-f", "--filename", help="Manifest files, directories or '-'"),
    recursive: bool = typer.Option(False, "-R", "--recursive"),
    server_side: bool = typer.Option(False, "--server-side", help="Let the server merge (server-side apply)"),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Server-side apply: take over fields"
    ),
    field_manager: str = typer.Option(None, "--field-manager", help="Field manager name for --server-side"),
    output: str = typer.Option(None, "-o", "--output", help="name|yaml|json"),
) -> None:
    """Apply a configuration from manifests: create what is missing, patch what changed (as kubectl apply)."""
    items = manifests.load(filename or [], recursive)

    async def go(client: Client) -> bool:
        failed = False
        for m in items:
            res = m.resource()
            obj = place(m, res)
            try:
                if server_side:
                    await _server_side(
                        client, res, obj, field_manager or SSA_MANAGER, force_conflicts, output
                    )
                else:
                    await _client_side(client, res, obj, output)
            except StatusError as err:
                if server_side and is_apply_conflict(err):
                    print(f"error: {err.message}\n{CONFLICT_ADVICE}", file=sys.stderr)
                else:
                    print(
                        status_line(
                            err, f'error when applying patch to "{m.source}"' if not is_invalid(err) else None
                        ),
                        file=sys.stderr,
                    )
                failed = True
        return failed

    if run(go):
        raise typer.Exit(1)


async def _client_side(client: Client, res: ResourceInfo, obj: dict[str, Any], output: str | None) -> None:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    modified = with_last_applied(obj)
    try:
        current = await client.get(res, meta["name"], ns)
    except StatusError as err:
        if not is_not_found(err):
            raise
        created = await client.create(res, modified, ns, field_manager="kubectl-client-side-apply")
        report(created, res, "created", output)
        return
    raw = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        original = json.loads(raw) if raw else None
    except ValueError:
        original = None  # a hand-edited, broken annotation: treat as never applied (kubectl does the same)
    patch = three_way_patch(original, modified, current, res.kind)
    if not patch:
        report(current, res, "unchanged", output)
        return
    result = await client.patch(
        res, meta["name"], patch, ns, "strategic", field_manager="kubectl-client-side-apply"
    )
    report(result, res, "configured", output)


async def _server_side(
    client: Client, res: ResourceInfo, obj: dict[str, Any], manager: str, force: bool, output: str | None
) -> None:
    meta = obj["metadata"]
    name, ns = meta["name"], meta.get("namespace")
    result = await client.patch(res, name, obj, ns, "apply", field_manager=manager, force=force)
    if manager == SSA_MANAGER:
        result = await _save_last_applied(client, res, result)
    if await _migrate(client, res, result, manager):
        result = await client.patch(res, name, obj, ns, "apply", field_manager=manager, force=force)
    report(result, res, "serverside-applied", output)


async def _save_last_applied(client: Client, res: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """Give the last-applied annotation an Apply owner of its own, so that server-side apply keeps it."""
    md = obj.get("metadata") or {}
    annotation = (md.get("annotations") or {}).get(csaupgrade.LAST_APPLIED)
    if annotation is None:
        return obj
    owned = {csaupgrade.LAST_APPLIED_PATH}
    if csaupgrade.find_fields_owners(md.get("managedFields") or [], "Apply", owned):
        return obj
    only_annotation = {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "metadata": {
            "name": md["name"],
            **({"namespace": md["namespace"]} if md.get("namespace") else {}),
            "annotations": {csaupgrade.LAST_APPLIED: annotation},
        },
    }
    result: dict[str, Any] = await client.patch(
        res, md["name"], only_annotation, md.get("namespace"), "apply", field_manager=LAST_APPLIED_MANAGER
    )
    return result


async def _migrate(client: Client, res: ResourceInfo, obj: dict[str, Any], manager: str) -> bool:
    """Fold the client-side apply managers' fields into `manager`'s; True when something was moved."""
    md = obj.get("metadata") or {}
    for _ in range(MAX_PATCH_RETRIES):
        owners = csaupgrade.find_fields_owners(
            md.get("managedFields") or [], "Update", {csaupgrade.LAST_APPLIED_PATH}
        )
        patch = csaupgrade.upgrade_patch(obj, {str(e.get("manager")) for e in owners}, manager)
        if patch is None:
            return False
        try:
            await client.patch(res, md["name"], patch, md.get("namespace"), "json")
            return True
        except StatusError as err:
            if not is_conflict(err):
                raise
            obj = await client.get(res, md["name"], md.get("namespace"))
            md = obj.get("metadata") or {}
    return False


def is_apply_conflict(err: StatusError) -> bool:
    return is_conflict(err) and any(
        c.get("reason") == "FieldManagerConflict" for c in err.details.get("causes") or []
    )

"""`kctl rollout status|history|undo|restart` for deployments, daemon sets and stateful sets, and
`pause|resume` for deployments, as kubectl does them.

status reads what kubectl reads (wire reference §9): observedGeneration, updated/available replicas and the
Progressing condition. A deployment's history comes from the ReplicaSets it controls and their
`deployment.kubernetes.io/revision` annotations; undo copies a ReplicaSet's pod template (without the
pod-template-hash label) back into the deployment. Daemon sets and stateful sets keep their history in
ControllerRevisions (see `rollout_kinds`).
"""

from __future__ import annotations

import asyncio
import copy
import sys
from contextlib import aclosing
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.resources import ResourceInfo
from apimachinery.timefmt import now_rfc3339
from cli import describers, printing, rollout_kinds
from cli.errors import CLIError
from cli.session import namespace_of, parse_duration, run
from cli.tabwriter import DESCRIBE_MINWIDTH, DESCRIBE_PADDING, table
from cli.targets import builtin, single_target
from cli.waiting import Progress, object_states

app = typer.Typer(
    help="Manage the rollout of a deployment, daemon set or stateful set.", no_args_is_help=True
)

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REPLICASETS = builtin("replicasets")


def _deployment(
    args: list[str], verb: str, kinds: tuple[str, ...] = ("deployments",)
) -> tuple[ResourceInfo, str]:
    res, name = single_target(args, f"rollout {verb}")
    if res.resource not in kinds:
        raise CLIError(f"rollout {verb} is not supported for {res.qualified} (only {', '.join(kinds)})")
    return res, name


def _status_message(obj: dict[str, Any]) -> tuple[str, bool]:
    kind = obj.get("kind")
    if kind == "DaemonSet":
        return rollout_kinds.daemonset_status(obj)
    if kind == "StatefulSet":
        return rollout_kinds.statefulset_status(obj)
    return status_message(obj)


def status_message(d: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's rollout status line for a deployment and whether the rollout is complete.

    Raises CLIError when the Progressing condition says the progress deadline was exceeded."""
    name = d["metadata"]["name"]
    spec, status = d.get("spec") or {}, d.get("status") or {}
    if rollout_kinds.spec_unobserved(d):
        return "Waiting for deployment spec update to be observed...", False
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise CLIError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return f"{prefix}{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


@app.command()
def status(
    args: list[str] = typer.Argument(..., help="deployment/NAME (or daemonset/NAME, statefulset/NAME)"),
    watch: bool = typer.Option(True, "-w", "--watch/--no-watch", help="Wait until the rollout finishes"),
    timeout: str = typer.Option("0s", "--timeout", help="Give up after this long (0: never)"),
) -> None:
    """Show the status of a rollout, waiting until it completes."""
    res, name = _deployment(args, "status", rollout_kinds.KINDS)
    seconds = parse_duration(timeout, 0) or None

    async def go(client: Client) -> None:
        ns = namespace_of()
        await client.get(res, name, ns)  # NotFound ends here, with the server's message
        with Progress() as progress:
            try:
                async with asyncio.timeout(seconds), aclosing(object_states(client, res, ns, name)) as states:
                    async for obj in states:
                        if obj is None:
                            raise CLIError(f'{res.qualified} "{name}" was deleted while waiting')
                        message, done = _status_message({"kind": res.kind, **obj})
                        if done or not watch:
                            progress.done(message)
                            return
                        progress.update(message)
            except TimeoutError as exc:
                raise CLIError("timed out waiting for the condition") from exc

    run(go)


async def history_of(client: Client, deploy: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """revision -> ReplicaSet, for the ReplicaSets this deployment controls."""
    uid = deploy["metadata"].get("uid")
    ns = deploy["metadata"].get("namespace")
    lst = await client.list_all(REPLICASETS, ns)
    out: dict[int, dict[str, Any]] = {}
    for rs in lst["items"]:
        refs = rs["metadata"].get("ownerReferences") or []
        if not any(r.get("uid") == uid and r.get("controller") for r in refs):
            continue
        rev = (rs["metadata"].get("annotations") or {}).get(REVISION)
        if rev and rev.isdigit():
            out[int(rev)] = rs
    return out


def _template(rs: dict[str, Any]) -> dict[str, Any]:
    tmpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return tmpl


@app.command()
def history(
    args: list[str] = typer.Argument(..., help="deployment/NAME (or daemonset/NAME, statefulset/NAME)"),
    revision: int = typer.Option(0, "--revision", help="Show the pod template of this revision"),
) -> None:
    """List the revisions of a deployment, daemon set or stateful set (or show one with --revision)."""
    res, name = _deployment(args, "history", rollout_kinds.KINDS)
    prefix = printing.kind_prefix(res)

    async def go(client: Client) -> None:
        obj = await client.get(res, name, namespace_of())
        if res.resource == "deployments":
            owned = await history_of(client, obj)
            revs = {n: rs for n, rs in owned.items()}
            templates = {n: _template(rs) for n, rs in owned.items()}
        else:
            revs = await rollout_kinds.revisions(client, obj)
            templates = {n: rollout_kinds.revision_template(r) for n, r in revs.items()}
        if revision:
            if revision not in revs:
                raise CLIError(f"unable to find the specified revision {revision}")
            print(f"{prefix}/{name} with revision #{revision}")
            sys.stdout.write(describers.pod_template_text(templates[revision]))
            return
        if not revs:
            print(
                f'No rollout history found in deployment "{name}"'
                if res.resource == "deployments"
                else "No rollout history found."
            )
            return
        rows = [["REVISION", "CHANGE-CAUSE"]]
        for r in sorted(revs):
            cause = (revs[r]["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"
            rows.append([str(r), cause])
        sys.stdout.write(f"{prefix}/{name} \n" + table(rows, DESCRIBE_MINWIDTH, DESCRIBE_PADDING) + "\n")

    run(go)


@app.command()
def undo(
    args: list[str] = typer.Argument(..., help="deployment/NAME"),
    to_revision: int = typer.Option(
        0, "--to-revision", help="The revision to roll back to (0: the previous)"
    ),
) -> None:
    """Roll back to a previous revision: its pod template becomes the object's again."""
    res, name = _deployment(args, "undo", rollout_kinds.KINDS)

    async def go(client: Client) -> None:
        ns = namespace_of()
        d = await client.get(res, name, ns)
        if res.resource != "deployments":
            await _undo_from_revisions(client, res, d, to_revision)
            return
        if (d.get("spec") or {}).get("paused"):
            raise CLIError(
                "you cannot rollback a paused deployment; resume it first with 'kctl rollout resume' and try again"
            )
        revs = await history_of(client, d)
        if to_revision:
            if to_revision not in revs:
                raise CLIError(f"unable to find specified revision {to_revision} in history")
            target = to_revision
        else:
            if len(revs) < 2:
                raise CLIError(f'no rollout history found for deployment "{name}"')
            target = sorted(revs)[-2]
        tmpl = _template(revs[target])
        if tmpl == (d.get("spec") or {}).get("template"):
            print(
                f"deployment.apps/{name} skipped rollback (current template already matches revision {target})"
            )
            return
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": d["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/spec/template", "value": tmpl},
        ]
        await client.patch(res, name, patch, ns, "json")
        print(f"deployment.apps/{name} rolled back")

    run(go)


async def _undo_from_revisions(
    client: Client, res: ResourceInfo, obj: dict[str, Any], to_revision: int
) -> None:
    """A daemon set's or stateful set's undo: the revision's data, a strategic merge patch, sent as is."""
    name = obj["metadata"]["name"]
    number, revision = rollout_kinds.pick(await rollout_kinds.revisions(client, obj), to_revision)
    prefix = printing.kind_prefix(res)
    if rollout_kinds.revision_template(revision) == (obj.get("spec") or {}).get("template"):
        print(f"{prefix}/{name} skipped rollback (current template already matches revision {number})")
        return
    await client.patch(res, name, revision["data"], obj["metadata"].get("namespace"), "strategic")
    print(f"{prefix}/{name} rolled back")


@app.command()
def restart(args: list[str] = typer.Argument(..., help="deployment/NAME")) -> None:
    """Restart every pod of a deployment, daemon set or stateful set by a new rollout (restartedAt annotation)."""
    res, name = _deployment(args, "restart", rollout_kinds.KINDS)

    async def go(client: Client) -> None:
        ns = namespace_of()
        d = await client.get(res, name, ns)
        if (d.get("spec") or {}).get("paused"):
            raise CLIError(
                f'deployments.apps "{name}" can\'t restart paused deployment (run rollout resume first)'
            )
        now = now_rfc3339()
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        await client.patch(res, name, patch, ns, "strategic", field_manager="kubectl-rollout")
        print(f"{printing.kind_prefix(res)}/{name} restarted")

    run(go)


def _set_paused(args: list[str], paused: bool) -> None:
    verb = "pause" if paused else "resume"
    res, name = _deployment(args, verb)

    async def go(client: Client) -> None:
        ns = namespace_of()
        d = await client.get(res, name, ns)
        if bool((d.get("spec") or {}).get("paused")) == paused:
            raise CLIError(f'deployments.apps "{name}" is {"already" if paused else "not"} paused')
        await client.patch(
            res,
            name,
            {"spec": {"paused": True if paused else None}},
            ns,
            "merge",
            field_manager="kubectl-rollout",
        )
        print(f"{printing.kind_prefix(res)}/{name} {'paused' if paused else 'resumed'}")

    run(go)


@app.command()
def pause(args: list[str] = typer.Argument(..., help="deployment/NAME")) -> None:
    """Pause a deployment: template changes do not roll out until resumed."""
    _set_paused(args, True)


@app.command()
def resume(args: list[str] = typer.Argument(..., help="deployment/NAME")) -> None:
    """Resume a paused deployment."""
    _set_paused(args, False)

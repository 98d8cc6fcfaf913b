"""`kctl get`: server-side Tables in kubectl's layout, -o yaml|json|name|jsonpath, and `-w` as a live table."""

from __future__ import annotations

import sys
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import ResourceInfo
from cli import completion, printing, streams
from cli.errors import CLIError, status_line
from cli.printing import TABLE_ACCEPT, TableOptions
from cli.session import namespace_of, run
from cli.tabwriter import GET_MINWIDTH, GET_PADDING, table
from cli.targets import Target, parse_targets

app = typer.Typer()


async def fetch_table(
    client: Client, res: ResourceInfo, ns: str | None, name: str | None, params: dict[str, str]
) -> dict[str, Any]:
    """One Table: a single object, or the whole (paged) collection."""
    if name:
        return await client.request("GET", res.object_path(name, ns), headers={"Accept": TABLE_ACCEPT})  # type: ignore[no-any-return]
    path = res.collection_path(ns if res.namespaced else None)
    merged: dict[str, Any] | None = None
    query = {**params, "limit": "500"}
    while True:
        page = await client.request("GET", path, params=query, headers={"Accept": TABLE_ACCEPT})
        if merged is None:
            merged = page
        else:
            merged.setdefault("rows", []).extend(page.get("rows") or [])
            merged["metadata"] = page.get("metadata") or {}
        cont = (page.get("metadata") or {}).get("continue")
        if not cont:
            return merged
        query["continue"] = cont


async def fetch_objects(
    client: Client, res: ResourceInfo, ns: str | None, name: str | None, params: dict[str, str]
) -> list[dict[str, Any]]:
    if name:
        return [await client.get(res, name, ns)]
    lst = await client.list_all(
        res, ns if res.namespaced else None, params.get("labelSelector"), params.get("fieldSelector")
    )
    # Items of a List carry no kind/apiVersion on the wire; kubectl fills them in for output.
    return [{"apiVersion": res.api_version, "kind": res.kind, **item} for item in lst["items"]]


def selector_params(selector: str | None, field_selector: str | None) -> dict[str, str]:
    params = {}
    if selector:
        params["labelSelector"] = selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


def no_resources(ns: str | None, targets: list[Target]) -> str:
    if ns and any(t.res.namespaced for t in targets):
        return f"No resources found in {ns} namespace."
    return "No resources found"


@app.command(no_args_is_help=True)
def get(
    args: list[str] = typer.Argument(
        None, help="TYPE[,TYPE...] [NAME...] or TYPE/NAME...", autocompletion=completion.resource_args
    ),
    output: str = typer.Option(None, "-o", "--output", help="wide|yaml|json|name|jsonpath=TEMPLATE"),
    selector: str = typer.Option(
        None, "-l", "--selector", help="Label selector (=, ==, !=, in, notin, !key)"
    ),
    field_selector: str = typer.Option(
        None, "--field-selector", help="Field selector, e.g. status.phase=Running"
    ),
    all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="List across all namespaces"),
    watch: bool = typer.Option(
        False, "-w", "--watch", help="After listing, watch for changes (a live table)"
    ),
    watch_only: bool = typer.Option(False, "--watch-only", help="Watch for changes without listing first"),
    show_labels: bool = typer.Option(False, "--show-labels", help="Show all labels as the last column"),
    label_columns: list[str] = typer.Option(
        None, "-L", "--label-columns", help="Label keys shown as columns"
    ),
    no_headers: bool = typer.Option(False, "--no-headers", help="Omit the header row"),
    show_managed_fields: bool = typer.Option(
        False, "--show-managed-fields", help="Keep metadata.managedFields in -o yaml|json"
    ),
) -> None:
    """Display one or many resources, with the columns the server prints (as kubectl get)."""
    printing.validate_output(output)
    targets = parse_targets(args or [])
    ns = namespace_of(all_namespaces)
    params = selector_params(selector, field_selector)
    if any(t.names for t in targets) and selector:
        raise CLIError("name cannot be provided when a selector is specified")
    label_cols = [c for lc in label_columns or [] for c in lc.split(",") if c]
    opts = TableOptions(
        wide=output == "wide",
        all_namespaces=all_namespaces,
        show_labels=show_labels,
        label_columns=label_cols,
        with_kind=len(targets) > 1,
        no_headers=no_headers,
    )
    if watch or watch_only:
        if len(targets) != 1 or len(targets[0].names) > 1:
            raise CLIError("you may only specify a single resource type to watch")
        run(
            lambda c: _watch(
                c, targets[0], ns, params, opts, output, watch_only, show_managed_fields=show_managed_fields
            )
        )
        return
    failed = run(
        lambda c: _get(c, targets, ns, params, opts, output, show_managed_fields=show_managed_fields)
    )
    if failed:
        raise typer.Exit(1)


async def _get(
    client: Client,
    targets: list[Target],
    ns: str | None,
    params: dict[str, str],
    opts: TableOptions,
    output: str | None,
    *,
    show_managed_fields: bool = False,
) -> bool:
    """Print what the targets name; return True when some named object failed (already reported)."""
    failed = False
    human = output in (None, "wide")
    tables: list[tuple[ResourceInfo, dict[str, Any]]] = []
    objects: list[tuple[ResourceInfo | None, dict[str, Any]]] = []
    for t in targets:
        names: list[str | None] = list(t.names) if t.names else [None]
        merged: dict[str, Any] | None = None
        for name in names:
            try:
                if human:
                    tbl = await fetch_table(client, t.res, ns if t.res.namespaced else None, name, params)
                    if merged is None:
                        merged = tbl
                    else:
                        merged.setdefault("rows", []).extend(tbl.get("rows") or [])
                else:
                    objs = await fetch_objects(client, t.res, ns, name, params)
                    objects.extend((t.res, o) for o in objs)
            except StatusError as err:
                if name is None or not is_not_found(err):
                    raise
                print(status_line(err), file=sys.stderr)
                failed = True
        if merged is not None:
            tables.append((t.res, merged))
    if human:
        text = printing.format_tables(tables, opts)
        if text:
            sys.stdout.write(text)
        elif not failed:
            print(no_resources(ns, targets), file=sys.stderr)
        return failed
    single = len(targets) == 1 and len(targets[0].names) == 1
    if not objects and not single and not failed:
        # kubectl prints an empty List for -o yaml/json, and the human hint otherwise.
        if output in ("yaml", "json"):
            sys.stdout.write(printing.format_objects([], output, False))
        else:
            print(no_resources(ns, targets), file=sys.stderr)
        return failed
    if objects:
        sys.stdout.write(
            printing.format_objects(
                objects, output or "yaml", single, show_managed_fields=show_managed_fields
            )
        )
    return failed


async def _watch(
    client: Client,
    target: Target,
    ns: str | None,
    params: dict[str, str],
    opts: TableOptions,
    output: str | None,
    watch_only: bool,
    *,
    show_managed_fields: bool = False,
) -> None:
    res = target.res
    name = target.names[0] if target.names else None
    human = output in (None, "wide")
    ns_ = ns if res.namespaced else None
    if human:
        initial = await fetch_table(client, res, ns_, name, params)
    else:
        lst = await client.list(res, ns_, params.get("labelSelector"), params.get("fieldSelector"))
        initial = {"metadata": lst.get("metadata") or {}, "items": lst["items"]}
        if name:
            initial["items"] = [i for i in initial["items"] if i["metadata"]["name"] == name]
    rv = str((initial.get("metadata") or {}).get("resourceVersion") or "")
    wparams = dict(params)
    if name:
        wparams["fieldSelector"] = f"metadata.name={name}"
        rows = initial.get("rows") or []
        if rows:
            rv = str(((rows[0].get("object") or {}).get("metadata") or {}).get("resourceVersion") or rv)
    if rv:
        wparams["resourceVersion"] = rv
    view = LiveTable(res, opts) if human else None
    if view is not None:
        view.start(initial if not watch_only else {**initial, "rows": []})
    elif not watch_only:
        for item in initial["items"]:
            _print_object(res, item, output or "yaml", show_managed_fields)
    path = res.collection_path(ns_)
    try:
        async for _etype, obj in streams.watch_frames(
            client, path, wparams, TABLE_ACCEPT if human else "application/json"
        ):
            if view is not None:
                view.event(_etype, obj)
            else:
                _print_object(res, obj, output or "yaml", show_managed_fields)
    finally:
        if view is not None:
            view.stop()


def _print_object(res: ResourceInfo, obj: dict[str, Any], output: str, show_managed_fields: bool) -> None:
    obj = {"apiVersion": res.api_version, "kind": res.kind, **obj}
    text = printing.format_objects([(res, obj)], output, True, show_managed_fields=show_managed_fields)
    if output == "yaml":
        text = "---\n" + text
    sys.stdout.write(text)
    sys.stdout.flush()


class LiveTable:
    """`get -w` output. On a terminal: one table redrawn in place (rows change, deleted rows go away).
    Piped: kubectl's stream, the table once, then one row per event, aligned with what came before."""

    def __init__(self, res: ResourceInfo, opts: TableOptions) -> None:
        self.res = res
        self.opts = opts
        self.tty = sys.stdout.isatty()
        self.header: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self.widths: list[int] = []
        self._live: Any = None

    @staticmethod
    def _key(row: dict[str, Any], cells: list[str]) -> str:
        meta = (row.get("object") or {}).get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name') or cells[0]}"

    def _add(self, tbl: dict[str, Any], deleted: bool = False) -> list[list[str]]:
        rows = printing.table_rows(self.res, tbl, self.opts, header=not self.header)
        if not self.header and rows and not self.opts.no_headers:
            self.header = rows.pop(0)
        for raw, cells in zip(tbl.get("rows") or [], rows, strict=False):
            key = self._key(raw, cells)
            if deleted:
                self.rows.pop(key, None)
            else:
                self.rows[key] = cells
        return rows

    def _render(self) -> str:
        body = [self.header] if self.header else []
        return table(body + list(self.rows.values())).rstrip("\n")

    def _emit(self, rows: list[list[str]]) -> None:
        for r in rows:
            for i, cell in enumerate(r[:-1]):
                w = max(GET_MINWIDTH, len(cell) + GET_PADDING)
                if i >= len(self.widths):
                    self.widths.append(w)
                else:
                    self.widths[i] = max(self.widths[i], w)
        for r in rows:
            line = "".join(c.ljust(self.widths[i]) for i, c in enumerate(r[:-1])) + (r[-1] if r else "")
            sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def start(self, initial: dict[str, Any]) -> None:
        rows = self._add(initial)
        if self.tty:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            self._text = Text
            self._live = Live(Text(self._render()), console=Console(), auto_refresh=False, transient=False)
            self._live.start()
            self._live.refresh()
        else:
            self._emit(([self.header] if self.header else []) + rows)

    def event(self, etype: str, obj: dict[str, Any]) -> None:
        if obj.get("kind") != "Table":
            return  # the server answers every frame as a Table when asked; nothing else is printable here
        rows = self._add(obj, deleted=etype == "DELETED" and self.tty)
        if self._live is not None:
            self._live.update(self._text(self._render()), refresh=True)
        else:
            if self.header and not self.widths:
                self._emit([self.header])
            self._emit(rows)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()

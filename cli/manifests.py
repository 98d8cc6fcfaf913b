"""Reading manifests for create/apply/delete -f: files, directories (-R), stdin ('-'), multi-document YAML,
JSON, and `kind: List`. Errors name the file and, for YAML, the line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from apimachinery.resources import ResourceInfo, by_kind
from cli.errors import ManifestError

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass
class Manifest:
    source: str  # the file name as the user gave it ("-" reads as "STDIN")
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    def resource(self) -> ResourceInfo:
        api_version, kind = str(self.obj.get("apiVersion")), str(self.obj.get("kind"))
        res = by_kind(api_version, kind)
        if res is None or res.version != api_version.rpartition("/")[2]:
            raise ManifestError(
                f'resource mapping not found for name: "{self.name}" namespace: '
                f'"{(self.obj.get("metadata") or {}).get("namespace", "")}" from "{self.source}": '
                f'no matches for kind "{kind}" in version "{api_version}"'
            )
        return res


def _files(path: str, recursive: bool) -> list[Path]:
    p = Path(path)
    if not p.exists():
        raise ManifestError(f'the path "{path}" does not exist')
    if p.is_dir():
        pattern = "**/*" if recursive else "*"
        return sorted(f for f in p.glob(pattern) if f.is_file() and f.suffix in EXTENSIONS)
    return [p]


def parse_documents(text: str, source: str) -> list[dict[str, Any]]:
    """Every object in `text` (YAML stream or JSON); `kind: List` is flattened into its items."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(f"error parsing {source}: yaml: {where}{problem}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"error parsing {source}: {exc}") from exc
    out: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"error parsing {source}: a document is not an object: {json.dumps(doc)[:80]}"
            )
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(i for i in doc["items"] if isinstance(i, dict))
            continue
        missing = [f"{k} not set" for k in ("apiVersion", "kind") if not doc.get(k)]
        if missing:
            raise ManifestError(f'error validating "{source}": error validating data: [{", ".join(missing)}]')
        out.append(doc)
    return out


def load(paths: list[str], recursive: bool = False) -> list[Manifest]:
    """Manifests from every -f argument, in order. Raises ManifestError when nothing usable is found."""
    if not paths:
        raise ManifestError("must specify one of -f and -k")
    manifests: list[Manifest] = []
    for path in paths:
        if path == "-":
            manifests += [Manifest("STDIN", o) for o in parse_documents(sys.stdin.read(), "STDIN")]
            continue
        for f in _files(path, recursive):
            try:
                text = f.read_text()
            except OSError as exc:
                raise ManifestError(f'cannot read "{f}": {exc.strerror}') from exc
            manifests += [Manifest(str(f), o) for o in parse_documents(text, str(f))]
    if not manifests:
        raise ManifestError(f"no objects passed to apply/create/delete in {', '.join(paths)}")
    return manifests

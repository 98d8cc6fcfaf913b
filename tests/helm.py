"""The real helm against a test cluster, and the charts the helm tests install.

`Helm` runs `.venv/bin/helm` (tests/binaries.py) with a kubeconfig and a private home (cache, config, data), so a
user's own helm state is never read or written.

`demo_chart` is what `helm create demo` makes, changed only where our test cluster differs from a stock one:

* the image is the local busybox (`tests/images.py`; nothing can be pulled here), and the container gets a
  `command` (a new `command` value, rendered by one line added to templates/deployment.yaml) that serves
  HTTP on the chart's port with busybox httpd, so the generated liveness and readiness probes pass;
* `helm test`'s pod (templates/tests/test-connection.yaml) uses the same image; its stock command, `wget
  <fullname>:<port>`, reaches the Service by name through cluster DNS;
* templates/hooks.yaml adds a pre-install and a post-install hook Job (deleted by helm once they succeed).

`crd_chart` ships a CustomResourceDefinition in crds/ and one custom object in templates/.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import factories
from tests.binaries import HELM, INSTALL_HINT

needs_helm = pytest.mark.skipif(HELM is None, reason=f"helm is not installed ({INSTALL_HINT})")

# httpd in the background of a shell that exits on SIGTERM: as PID 1, httpd itself would ignore it and make every
# pod wait out its 30 s grace period.
HTTPD = (
    "mkdir -p /www && echo demo-ok > /www/index.html; httpd -f -p {port} -h /www & "
    "trap 'kill $!; exit 0' TERM; wait"
)


@dataclass(frozen=True)
class Helm:
    """`helm --kubeconfig K [-n NS] ...` with a private home; `__call__` returns stdout, failing on non-zero."""

    kubeconfig: Path
    home: Path
    namespace: str | None = None
    timeout: float = 240.0

    def in_namespace(self, namespace: str) -> Helm:
        return replace(self, namespace=namespace)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_"))}
        env.update(
            HOME=str(self.home),
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_DATA_HOME=str(self.home / "data"),
        )
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert HELM is not None
        argv = [HELM, "--kubeconfig", str(self.kubeconfig)]
        if self.namespace:
            argv += ["--namespace", self.namespace]
        return subprocess.run(
            [*argv, *args], capture_output=True, text=True, timeout=self.timeout, env=self.env()
        )

    def __call__(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"helm {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done.stdout

    def status(self, release: str) -> dict[str, Any]:
        result: dict[str, Any] = yaml.safe_load(self("status", release, "-o", "json"))
        return result


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: helm create changed"
    path.write_text(text.replace(old, new, 1))


_HOOK_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: "{{{{ include "demo.fullname" . }}}}-{phase}"
  labels:
    {{{{- include "demo.labels" . | nindent 4 }}}}
  annotations:
    "helm.sh/hook": {phase}
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hook
          image: "{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag }}}}"
          command: ["sh", "-c", "echo {phase} of {{{{ .Release.Name }}}}"]
"""


def demo_chart(helm: Helm, parent: Path, repository: str, tag: str) -> tuple[Path, Path]:
    """`helm create demo` under `parent`, changed as the module docstring says; returns the chart and a values
    file that sets the image and the command."""
    helm("create", str(parent / "demo"))
    chart = parent / "demo"
    _edit(
        chart / "templates" / "deployment.yaml",
        "imagePullPolicy: {{ .Values.image.pullPolicy }}\n",
        "imagePullPolicy: {{ .Values.image.pullPolicy }}\n"
        "          {{- with .Values.command }}\n"
        "          command: {{- toYaml . | nindent 12 }}\n"
        "          {{- end }}\n",
    )
    test_pod = chart / "templates" / "tests" / "test-connection.yaml"
    _edit(test_pod, "image: busybox", 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"')
    hooks = "---\n".join(_HOOK_JOB.format(phase=phase) for phase in ("pre-install", "post-install"))
    (chart / "templates" / "hooks.yaml").write_text(hooks)
    values = parent / "local-values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "replicaCount": 2,
                "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
                "command": ["sh", "-c", HTTPD.format(port=80)],
            }
        )
    )
    return chart, values


def crd_chart(parent: Path, group: str) -> Path:
    """A chart with a Widget CRD of `group` in crds/ and one Widget (`spec.size` from values) in templates/."""
    chart = parent / "widgets"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": "widgets", "version": "0.1.0"})
    )
    (chart / "values.yaml").write_text("size: 3\ncolor: blue\n")
    size = {"type": "integer", "minimum": 1}
    spec = {"type": "object", "properties": {"size": size, "color": {"type": "string", "nullable": True}}}
    schema = {"type": "object", "properties": {"spec": spec}}
    crd = factories.crd(group, "Widget", "widgets", schema, listKind="WidgetList")
    (chart / "crds" / "widgets.yaml").write_text(yaml.safe_dump(crd))
    (chart / "templates" / "widget.yaml").write_text(
        f"apiVersion: {group}/v1\n"
        "kind: Widget\n"
        "metadata:\n"
        "  name: {{ .Release.Name }}-widget\n"
        "spec:\n"
        "  size: {{ .Values.size }}\n"
        "  color: {{ .Values.color | quote }}\n"
    )
    return chart

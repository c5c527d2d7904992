"""Shared helpers: render the charts offline with helm-python-sdk (Helm's Go SDK in a
wheel: no helm binary, no cluster), and check what was rendered."""
import copy
import pathlib
import shlex
import subprocess
import sys
import tomllib

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
import yamllint.config
import yamllint.linter

DEPLOY = pathlib.Path(__file__).resolve().parents[1]
LIGHTNING = DEPLOY / "helm" / "tidb-lightning"
IMPORTER = DEPLOY / "helm" / "tikv-importer"
KUBE_VERSION = "1.30.0"
RELEASE, NAMESPACE = "rel", "import"

# The recipe's yamllint settings: formatting rules off, key-duplicates (part of relaxed) on.
YAMLLINT = yamllint.config.YamlLintConfig(
    "{extends: relaxed, rules: {line-length: disable, trailing-spaces: disable, empty-lines: disable,"
    " indentation: disable, comments: disable, key-duplicates: enable}}"
)


def merge(a, b):
    """Deep-merge b into a copy of a (like repeated helm -f files)."""
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def lint(chart, values):
    """helm lint --strict; returns the messages of severity warning or worse plus errors."""
    rep = helm.lint(str(chart), values, strict=True, namespace=NAMESPACE, kube_version="v" + KUBE_VERSION)
    bad = [m for m in rep.get("messages", []) if m.get("severity", 0) >= 2]
    return bad + list(rep.get("errors") or [])


def render(chart, values, release=RELEASE, namespace=NAMESPACE):
    """helm template; returns {template path: manifest text} without NOTES.txt and empty files."""
    out = helm.Chart.load(str(chart)).render(values, name=release, namespace=namespace, is_install=True)
    return {p: t for p, t in out.items() if not p.endswith("NOTES.txt") and t.strip()}


def render_notes(chart, values):
    out = helm.Chart.load(str(chart)).render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return next(t for p, t in out.items() if p.endswith("NOTES.txt"))


def render_error(chart, values):
    """Render that must fail; returns the error text."""
    with pytest.raises((helm.HelmRenderError, helm.HelmValuesError, helm.HelmError)) as exc:
        render(chart, values)
    return str(exc.value)


def as_stream(rendered):
    return "---\n" + "\n---\n".join(
        "# Source: %s\n%s" % (p, rendered[p].strip()) for p in sorted(rendered)) + "\n"


def docs(rendered):
    return [d for d in yaml.safe_load_all(as_stream(rendered)) if d]


def duplicate_keys(text):
    """yamllint problems (PyYAML silently keeps the last of duplicated keys)."""
    return [str(p) for p in yamllint.linter.run(text, YAMLLINT)]


def k8s_errors(objs):
    errs = []
    for o in objs:
        try:
            kubernetes_validate.validate(o, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            errs.append("%s/%s: %s at %s" % (o.get("kind"), o["metadata"].get("name"), e.message, list(e.path)))
    return errs


def checked_docs(chart, values):
    """Lints and renders `values`, asserts the render has no duplicate keys and passes the
    Kubernetes schemas, and returns its objects."""
    assert lint(chart, values) == []
    rendered = render(chart, values)
    assert duplicate_keys(as_stream(rendered)) == []
    objs = docs(rendered)
    assert k8s_errors(objs) == []
    return objs


def validate_cli(files):
    """kubernetes-validate from the command line, as the recipe runs it; its output on failure."""
    exe = pathlib.Path(sys.executable).with_name("kubernetes-validate")
    r = subprocess.run([str(exe), "--strict", "-k", "1.30.0", "--quiet", *files], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def yamllint_cli(folder):
    """yamllint from the command line over `folder` (the relaxed rules, duplicate keys kept)."""
    exe = pathlib.Path(sys.executable).with_name("yamllint")
    conf = ("{extends: relaxed, rules: {line-length: disable, trailing-spaces: disable, empty-lines: disable,"
            " indentation: disable, comments: disable}}")
    r = subprocess.run([str(exe), "-s", "-d", conf, str(folder)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def one(objs, kind, name=None):
    hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(hits) == 1, "expected one %s %s, got %d" % (kind, name or "", len(hits))
    return hits[0]


def all_of(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def container(pod_spec, name, init=False):
    return next(c for c in pod_spec["initContainers" if init else "containers"] if c["name"] == name)


def lightning_toml(objs):
    cm = one(objs, "ConfigMap")
    return tomllib.loads(cm["data"]["tidb-lightning.toml"])


def script_flags(script):
    """The arguments of the script's `set -- ...` block, as the shell would split them
    (variables left as written)."""
    lines = script.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith("set -- \\"))
    block = []
    for l in lines[start + 1:]:
        block.append(l.rstrip(" \\"))
        if not l.rstrip().endswith("\\"):
            break
    return shlex.split(" ".join(block), posix=True)


# -- values ---------------------------------------------------------------

SOURCES = {
    "local": {"local": {"nodeName": "kind-worker3", "hostPath": "/data/export-20190820"}},
    "remote-tarball": {"remote": {"rcloneImage": "rclone/rclone:1.66.0", "secretName": "cloud-storage-secret",
                                  "storageClassName": "local-storage", "storage": "50Gi",
                                  "path": "s3:bench-data-us/sysbench/sbtest_16_1e7.tar.gz"}},
    "remote-directory": {"remote": {"secretName": "cloud-storage-secret", "storage": "50Gi",
                                    "directory": "s3:bench-data-us/sysbench/sbtest_16_1e7/"}},
    "adhoc": {"adhoc": {"pvcName": "old-tidb-lightning-data", "backupName": "sbtest_16_1e7"}},
}
# `importer` is not here: it needs tikv-importer, which is not built yet, so the chart
# refuses it (test_negative.py).
BACKENDS = ["local", "tidb"]
IMPORTER_NOT_BUILT = "backend importer needs tikv-importer, which is not built yet"
TIKV_IMPORTER_NOT_BUILT = "tikv-importer is not built yet"
# The status server is opt-in (status.enabled); the values TiDB Operator's chart used for it
# and the status keys in `config` are refused, pointing to status.*.
USE_STATUS_VALUES = "the status server is set with status.enabled, status.port (default 8289) and status.service"
USE_STATUS_CONFIG = "use status.enabled and status.port instead"
NO_SERVER_MODE = "the chart runs one import as a Job; server mode is not offered"
# With [security] cert-path the status port speaks HTTPS; a user prometheus.io/scheme that
# says otherwise is refused.
SCHEME_DIFFERS = "annotations: prometheus.io/scheme: %s differs from the chart's %s"
TLS = {
    "off": {},
    "cluster": {"tlsCluster": {"enabled": True}},
    "client": {"tlsClient": {"enabled": True}},
    "both": {"tlsCluster": {"enabled": True}, "tlsClient": {"enabled": True, "tlsClientSecretName": "my-client-cert"}},
}


def chart_defaults(chart):
    return helm.values_from_yaml((chart / "values.yaml").read_text())


def lightning_values(backend="local", source="local", tls="off", **extra):
    """The chart's values.yaml with a data source, backend and TLS mode applied
    (like `helm install -f values.yaml -f mine.yaml`)."""
    v = merge(chart_defaults(LIGHTNING), {"backend": backend, "dataSource": SOURCES[source]})
    v = merge(v, TLS[tls])
    v = merge(v, {"targetTidbCluster": {"name": "tc", "namespace": "tidb"}})
    return merge(v, extra)

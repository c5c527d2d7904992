"""tikv-importer chart: this project has no tikv-importer binary yet, so every render of
the chart must fail with a message saying so (a chart never deploys a binary, port or
Service that does not exist). The chart's files are kept as the starting point for the
issue that builds tikv-importer; they must stay lint-clean and, with the guard taken out,
still render manifests valid for Kubernetes 1.30."""
import re
import shutil

import pytest

from conftest import (IMPORTER, TIKV_IMPORTER_NOT_BUILT, as_stream, chart_defaults, docs, duplicate_keys,
                      k8s_errors, lint, merge, render, render_error)

GUARD = '{{- include "tikv-importer.notBuilt" . -}}\n'

VALUES = {
    "defaults": {},
    "tls": {"tlsCluster": {"enabled": True}},
    "cluster-tc": {"clusterName": "tc"},
    "placement": {"nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "k", "operator": "Exists"}],
                  "resources": {"requests": {"cpu": "8"}}},
    "config": {"config": 'log-level = "debug"\n[import]\nnum-import-jobs = 4\n'},
}


@pytest.mark.parametrize("name", list(VALUES))
def test_every_render_fails_saying_it_is_not_built(name):
    err = render_error(IMPORTER, merge(chart_defaults(IMPORTER), VALUES[name]))
    assert TIKV_IMPORTER_NOT_BUILT in err


def test_render_without_the_chart_values_file_fails_too():
    assert TIKV_IMPORTER_NOT_BUILT in render_error(IMPORTER, {"clusterName": "tc", "image": "x", "storage": "1Gi",
                                                              "port": 8287, "statusPort": 8286})


def test_every_template_starts_with_the_guard():
    """Whichever template Helm renders first fails, so nothing can be rendered or installed."""
    templates = sorted(p for p in (IMPORTER / "templates").iterdir() if not p.name.startswith("_"))
    assert {p.name for p in templates} >= {"configmap.yaml", "service.yaml", "statefulset.yaml", "NOTES.txt"}
    for p in templates:
        assert p.read_text().startswith(GUARD), p.name


def test_chart_says_it_is_not_usable_yet():
    chart = (IMPORTER / "Chart.yaml").read_text()
    assert "Not usable yet" in chart and "not built" in chart


@pytest.mark.parametrize("name", ["defaults", "tls"])
def test_chart_files_stay_lint_clean(name):
    """helm lint ignores template `fail`s: the kept files must still be a valid chart."""
    assert lint(IMPORTER, merge(chart_defaults(IMPORTER), VALUES[name])) == []


@pytest.mark.parametrize("name", list(VALUES))
def test_starting_point_renders_without_the_guard(tmp_path, name):
    """What the later issue starts from: with the guard removed, the manifests are valid."""
    copy = tmp_path / "tikv-importer"
    shutil.copytree(IMPORTER, copy)
    for p in (copy / "templates").iterdir():
        p.write_text(p.read_text().replace(GUARD, ""))
    rendered = render(copy, merge(chart_defaults(copy), VALUES[name]))
    assert duplicate_keys(as_stream(rendered)) == []
    objs = docs(rendered)
    assert k8s_errors(objs) == []
    assert sorted(o["kind"] for o in objs) == ["ConfigMap", "Service", "StatefulSet"]
    assert not re.search("notBuilt", as_stream(rendered))

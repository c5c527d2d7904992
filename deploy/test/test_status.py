"""The status server (status.enabled / status.port / status.service): the --status-addr flag,
the `status` container port, the Prometheus annotations and the optional ClusterIP Service,
in every backend x data source x TLS mode, linted, schema-validated and yamllint-clean. With
[security] certificates (tlsCluster, or cert-path in config) the status port speaks HTTPS:
the pod also gets prometheus.io/scheme: https and the NOTES curl https:// with --cacert.
The default (status.enabled: false) is tested in test_lightning_chart.py."""
import itertools

import pytest

from conftest import (BACKENDS, LIGHTNING, SOURCES, TLS, all_of, as_stream, checked_docs, container, docs,
                      duplicate_keys, k8s_errors, lightning_toml, lightning_values, one, render, render_notes,
                      script_flags, validate_cli, yamllint_cli)

MATRIX = list(itertools.product(BACKENDS, SOURCES, TLS, [False, True]))
IDS = ["-".join([b, s, t, "service" if svc else "no_service"]) for b, s, t, svc in MATRIX]
PROMETHEUS = {"prometheus.io/scrape": "true", "prometheus.io/port": "8289", "prometheus.io/path": "/metrics"}
HTTPS = {"prometheus.io/scheme": "https"}
# tlsCluster renders [security] cert-path: the status port speaks HTTPS. tlsClient alone
# renders only [tidb.security]: plain HTTP.
SECURITY_TLS = {"cluster", "both"}
CLUSTER_SECURITY = {"ca-path": "/var/lib/lightning-tls/ca.crt", "cert-path": "/var/lib/lightning-tls/tls.crt",
                    "key-path": "/var/lib/lightning-tls/tls.key"}
CONFIG_CERT = '[security]\nca-path = "/certs/ca.crt"\ncert-path = "/certs/tls.crt"\nkey-path = "/certs/tls.key"\n'


def status_values(backend="local", source="local", tls="off", service=False, **extra):
    status = {"enabled": True, "service": service}
    status.update(extra.pop("status", {}))
    return lightning_values(backend, source, tls, status=status, **extra)


def pod_template(objs):
    return one(objs, "Job")["spec"]["template"]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory):
    """Every status combination rendered into one file each (for the CLI validators)."""
    out = tmp_path_factory.mktemp("rendered-status")
    for backend, source, tls, service in MATRIX:
        text = as_stream(render(LIGHTNING, status_values(backend, source, tls, service)))
        (out / f"status-{backend}-{source}-tls_{tls}-service_{service}.yaml").write_text(text)
    return out


@pytest.mark.parametrize("backend,source,tls,service", MATRIX, ids=IDS)
def test_status_matrix(backend, source, tls, service):
    values = status_values(backend, source, tls, service)
    objs = checked_docs(LIGHTNING, values)

    tmpl = pod_template(objs)
    main = container(tmpl["spec"], "tidb-lightning")
    # the flag, once, inside the `set --` block the binary gets
    flags = script_flags(main["command"][2])
    assert [f for f in flags if f.startswith("--status-addr")] == ["--status-addr=:8289"]
    assert not any(f.startswith("--server-mode") for f in flags)
    assert main["ports"] == [{"name": "status", "containerPort": 8289, "protocol": "TCP"}]
    # a Job: nothing waits for readiness, and a liveness probe would kill a long import
    assert "readinessProbe" not in main and "livenessProbe" not in main and "startupProbe" not in main
    for init in tmpl["spec"].get("initContainers", []):
        assert "ports" not in init
    https = tls in SECURITY_TLS
    assert tmpl["metadata"]["annotations"] == ({**PROMETHEUS, **HTTPS} if https else PROMETHEUS)

    # the config file stays as it was: status-addr is the flag only; [security] only from tlsCluster
    cfg = lightning_toml(objs)
    assert cfg["lightning"] == {"level": "info", "file": "-"}
    if https:
        assert cfg["security"] == CLUSTER_SECURITY
    else:
        assert "security" not in cfg
    assert ("security" in cfg["tidb"]) == (tls in ("client", "both"))

    # the NOTES' curl hint matches the scheme
    notes = render_notes(LIGHTNING, values)
    if https:
        assert "curl -s --cacert ca.crt https://127.0.0.1:8289/progress/task" in notes
        assert "kubectl get secret -n import tc-lightning-cluster-secret -o jsonpath='{.data.ca\\.crt}'" in notes
        assert "/var/lib/lightning-tls/ca.crt" in notes and "http://" not in notes
    else:
        assert "curl -s http://127.0.0.1:8289/progress/task" in notes
        assert "https://" not in notes and "--cacert" not in notes
    assert ("svc:8289/metrics" in notes) == service
    if service:
        assert ("https" if https else "http") + "://rel-tidb-lightning.import.svc:8289/metrics" in notes

    services = all_of(objs, "Service")
    if not service:
        assert services == []
        return
    svc = one(objs, "Service", "rel-tidb-lightning")
    assert svc["metadata"]["namespace"] == "import"
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"name": "status", "port": 8289, "targetPort": "status", "protocol": "TCP"}]
    # the target port is the container's named port, and the selector picks the Job's pod
    assert svc["spec"]["ports"][0]["targetPort"] in {p["name"] for p in main["ports"]}
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "tidb-lightning", "app.kubernetes.io/instance": "rel",
                                       "app.kubernetes.io/component": "tidb-lightning"}
    assert selects(svc["spec"]["selector"], tmpl["metadata"]["labels"])


def test_kubernetes_validate_cli(rendered_dir):
    files = sorted(str(p) for p in rendered_dir.glob("*.yaml"))
    assert len(files) == len(MATRIX)
    code, out = validate_cli(files)
    assert code == 0, out


def test_yamllint_cli(rendered_dir):
    code, out = yamllint_cli(rendered_dir)
    assert code == 0, out


def test_custom_port_reaches_flag_container_port_annotation_and_service():
    objs = docs(render(LIGHTNING, status_values(service=True, status={"port": 9100})))
    assert k8s_errors(objs) == []
    tmpl = pod_template(objs)
    main = container(tmpl["spec"], "tidb-lightning")
    assert "--status-addr=:9100" in script_flags(main["command"][2])
    assert main["ports"] == [{"name": "status", "containerPort": 9100, "protocol": "TCP"}]
    assert tmpl["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    svc = one(objs, "Service")
    assert svc["spec"]["ports"][0]["port"] == 9100 and svc["spec"]["ports"][0]["targetPort"] == "status"


def test_service_still_selects_the_pod_when_pod_labels_try_to_override_the_chart_labels():
    values = status_values(service=True, podLabels={"app.kubernetes.io/instance": "other", "team": "dba"},
                           jobName="import-2026")
    objs = docs(render(LIGHTNING, values))
    labels = pod_template(objs)["metadata"]["labels"]
    assert labels["team"] == "dba"
    assert selects(one(objs, "Service")["spec"]["selector"], labels)
    assert one(objs, "Job")["metadata"]["name"] == "import-2026"


def test_user_annotations_are_merged_with_the_prometheus_ones():
    annotations = {"team": "dba", "prometheus.io/scrape": "true", "prometheus.io/scheme": "http"}
    rendered = render(LIGHTNING, status_values(annotations=annotations))
    assert duplicate_keys(as_stream(rendered)) == []
    assert pod_template(docs(rendered))["metadata"]["annotations"] == {**PROMETHEUS, "team": "dba",
                                                                       "prometheus.io/scheme": "http"}


@pytest.mark.parametrize("tls", ["cluster", "both"])
def test_user_https_scheme_annotation_matching_the_chart_passes(tls):
    annotations = {"team": "dba", "prometheus.io/scheme": "https"}
    rendered = render(LIGHTNING, status_values(tls=tls, annotations=annotations))
    assert duplicate_keys(as_stream(rendered)) == []
    assert pod_template(docs(rendered))["metadata"]["annotations"] == {**PROMETHEUS, **HTTPS, "team": "dba"}


def test_certificate_in_config_makes_the_status_port_https():
    """cert-path from `config` (no tlsCluster) counts like tlsCluster: scheme https."""
    values = status_values(service=True, config=CONFIG_CERT)
    objs = checked_docs(LIGHTNING, values)
    tmpl = pod_template(objs)
    assert tmpl["metadata"]["annotations"] == {**PROMETHEUS, **HTTPS}
    assert "--status-addr=:8289" in script_flags(container(tmpl["spec"], "tidb-lightning")["command"][2])
    assert lightning_toml(objs)["security"]["cert-path"] == "/certs/tls.crt"
    notes = render_notes(LIGHTNING, values)
    # no chart Secret to point at: the CA is named by the rendered [security] ca-path
    assert "--cacert <the CA that signed [security] cert-path, in the pod at /certs/ca.crt>" in notes
    assert "https://127.0.0.1:8289/progress/task" in notes and "kubectl get secret" not in notes
    assert "https://rel-tidb-lightning.import.svc:8289/metrics" in notes


def test_custom_secret_and_port_reach_the_https_notes():
    values = status_values(tls="cluster", tlsCluster={"secretName": "my-cluster-cert"}, status={"port": 9100})
    notes = render_notes(LIGHTNING, values)
    assert "kubectl get secret -n import my-cluster-cert -o jsonpath=" in notes
    assert "curl -s --cacert ca.crt https://127.0.0.1:9100/progress/task" in notes
    assert "prometheus.io/scheme: https" in notes
    tmpl = pod_template(docs(render(LIGHTNING, values)))
    assert tmpl["metadata"]["annotations"] == {**PROMETHEUS, **HTTPS, "prometheus.io/port": "9100"}


def test_tls_status_render_is_the_plain_one_plus_the_scheme_annotation():
    """HTTPS changes nothing else of the status server: same flag, port, Service."""
    for backend, source in itertools.product(BACKENDS, SOURCES):
        plain = docs(render(LIGHTNING, status_values(backend, source, "off", service=True)))
        tls = docs(render(LIGHTNING, status_values(backend, source, "cluster", service=True)))
        assert one(tls, "Service") == one(plain, "Service")
        pm, tm = (container(pod_template(o)["spec"], "tidb-lightning") for o in (plain, tls))
        assert tm["ports"] == pm["ports"] and script_flags(tm["command"][2]) == script_flags(pm["command"][2])
        assert pod_template(tls)["metadata"]["annotations"] == {**pod_template(plain)["metadata"]["annotations"],
                                                                **HTTPS}


def test_status_server_with_fail_fast_false():
    objs = docs(render(LIGHTNING, status_values(failFast=False)))
    main = container(pod_template(objs)["spec"], "tidb-lightning")
    assert "--status-addr=:8289" in script_flags(main["command"][2])


@pytest.mark.parametrize("service", [False, True])
def test_notes_tell_how_to_reach_the_status_server(service):
    notes = render_notes(LIGHTNING, status_values(service=service, status={"port": 9100}))
    target = "svc/rel-tidb-lightning" if service else "job/rel-tidb-lightning"
    assert f"kubectl port-forward -n import {target} 9100:9100" in notes
    assert "curl -s http://127.0.0.1:9100/progress/task" in notes
    assert "https://" not in notes and "--cacert" not in notes
    assert ("http://rel-tidb-lightning.import.svc:9100/metrics" in notes) == service
    assert "prometheus.io/scrape" in notes
    assert "is off" not in notes


@pytest.mark.parametrize("tls", list(TLS))
def test_status_disabled_explicitly_is_the_default_render(tls):
    default = render(LIGHTNING, lightning_values(tls=tls))
    explicit = render(LIGHTNING, lightning_values(tls=tls, status={"enabled": False, "port": 9100, "service": False}))
    assert explicit == default
    assert render_notes(LIGHTNING, lightning_values(tls=tls)) == render_notes(
        LIGHTNING, lightning_values(tls=tls, status={"enabled": False, "port": 9100}))

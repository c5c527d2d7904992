"""tikv-importer chart: a one-replica StatefulSet with its engine directory on a volume
claim template, a headless Service on the gRPC port, and config passthrough."""
import tomllib

import pytest

from conftest import (IMPORTER, LIGHTNING, NAMESPACE, as_stream, chart_defaults, container, docs, duplicate_keys,
                      k8s_errors, lint, lightning_toml, lightning_values, merge, one, render, script_flags)


@pytest.mark.parametrize("tls", [False, True])
def test_renders_and_validates(tls):
    values = merge(chart_defaults(IMPORTER), {"tlsCluster": {"enabled": tls}, "nodeSelector": {"disk": "ssd"},
                                             "tolerations": [{"key": "k", "operator": "Exists"}],
                                             "resources": {"requests": {"cpu": "8"}}})
    assert lint(IMPORTER, values) == []
    rendered = render(IMPORTER, values)
    assert duplicate_keys(as_stream(rendered)) == []
    objs = docs(rendered)
    assert k8s_errors(objs) == []

    sts = one(objs, "StatefulSet", "tidb-cluster-importer")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == "tidb-cluster-importer"
    pod = sts["spec"]["template"]["spec"]
    c = container(pod, "importer")
    assert c["command"] == ["tikv-importer", "--config=/etc/tikv-importer/tikv-importer.toml",
                            "--addr=0.0.0.0:8287", "--import-dir=/var/lib/tikv-importer"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["data"] == "/var/lib/tikv-importer"
    vct = sts["spec"]["volumeClaimTemplates"]
    assert [t["metadata"]["name"] for t in vct] == ["data"]
    assert vct[0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8286"

    svc = one(objs, "Service", "tidb-cluster-importer")
    assert svc["spec"]["clusterIP"] == "None"
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"importer": 8287, "status": 8286}
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in svc["spec"]["selector"].items())
    assert sts["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]

    cfg = tomllib.loads(one(objs, "ConfigMap")["data"]["tikv-importer.toml"])
    assert cfg["import"]["import-dir"] == "/var/lib/tikv-importer"
    assert cfg["import"]["num-import-jobs"] == 24 and cfg["import"]["max-open-engines"] == 8
    assert cfg["server"]["addr"] == "0.0.0.0:8287"
    assert cfg["status-server-address"] == "0.0.0.0:8286"
    if tls:
        assert mounts["importer-tls"] == "/var/lib/importer-tls"
        vols = {v["name"]: v for v in pod["volumes"]}
        assert vols["importer-tls"]["secret"]["secretName"] == "tidb-cluster-importer-cluster-secret"
        assert cfg["security"]["ca-path"] == "/var/lib/importer-tls/ca.crt"
    else:
        assert "importer-tls" not in mounts and "security" not in cfg


def test_config_passthrough():
    values = merge(chart_defaults(IMPORTER), {"config": 'log-level = "debug"\n[import]\nnum-import-jobs = 4\n'
                                                        '[rocksdb]\nmax-background-jobs = 32\n'})
    cfg = tomllib.loads(one(docs(render(IMPORTER, values)), "ConfigMap")["data"]["tikv-importer.toml"])
    assert cfg["log-level"] == "debug" and cfg["rocksdb"]["max-background-jobs"] == 32
    assert cfg["import"] == {"import-dir": "/var/lib/tikv-importer", "num-import-jobs": 4}


def test_lightning_importer_backend_finds_the_importer_service():
    """Both charts installed for cluster `tc` in one namespace: lightning's default
    --importer address is the importer chart's Service."""
    imp = docs(render(IMPORTER, merge(chart_defaults(IMPORTER), {"clusterName": "tc"})))
    svc = one(imp, "Service")
    port = next(p["port"] for p in svc["spec"]["ports"] if p["name"] == "importer")
    expected = f"{svc['metadata']['name']}.{NAMESPACE}:{port}"
    values = lightning_values(backend="importer")
    values["targetTidbCluster"]["namespace"] = ""
    objs = docs(render(LIGHTNING, values))
    script = container(one(objs, "Job")["spec"]["template"]["spec"], "tidb-lightning")["command"][2]
    assert f"--importer={expected}" in script_flags(script)
    assert lightning_toml(objs)["tikv-importer"]["addr"] == expected

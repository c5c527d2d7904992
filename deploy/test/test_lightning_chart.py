"""tidb-lightning chart: every backend (local, tidb) x data source x TLS mode renders, lints
strictly, validates against the Kubernetes 1.30 schemas, has no duplicated key, says what it
must, and by default publishes no status port, Service or Prometheus annotation (the status
server is opt-in: status.enabled, tested in test_status.py)."""
import itertools

import pytest
import yaml

from conftest import (BACKENDS, LIGHTNING, SOURCES, TLS, all_of, as_stream, container, docs, duplicate_keys,
                      k8s_errors, lint, lightning_toml, lightning_values, one, render, render_notes, script_flags,
                      validate_cli, yamllint_cli)

MATRIX = list(itertools.product(BACKENDS, SOURCES, TLS))
DATA_ROOT = "/var/lib/tidb-lightning"
DATA_DIR = {  # where -d / data-source-dir point, per data source
    "local": DATA_ROOT,
    "remote-tarball": DATA_ROOT + "/sbtest_16_1e7",
    "remote-directory": DATA_ROOT + "/sbtest_16_1e7",
    "adhoc": DATA_ROOT + "/sbtest_16_1e7",
}


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory):
    """Every combination rendered into one file each (reused by the CLI validation test)."""
    out = tmp_path_factory.mktemp("rendered")
    for backend, source, tls in MATRIX:
        text = as_stream(render(LIGHTNING, lightning_values(backend, source, tls)))
        (out / f"lightning-{backend}-{source}-tls_{tls}.yaml").write_text(text)
    return out


@pytest.mark.parametrize("backend,source,tls", MATRIX, ids=["-".join(m) for m in MATRIX])
def test_matrix(backend, source, tls):
    values = lightning_values(backend, source, tls)
    assert lint(LIGHTNING, values) == []
    rendered = render(LIGHTNING, values)
    text = as_stream(rendered)
    assert duplicate_keys(text) == []
    objs = docs(rendered)
    assert k8s_errors(objs) == []

    job = one(objs, "Job")
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    main = container(pod, "tidb-lightning")
    assert main["command"][:2] == ["/bin/sh", "-c"]
    script = main["command"][2]
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    env = {e["name"]: e for e in main["env"]}
    assert env["DATA_ROOT"]["value"] == DATA_ROOT
    assert env["FAIL_FAST"]["value"] == "true"

    # the data volume, per data source
    assert mounts["data"] == DATA_ROOT
    pvcs = {p["metadata"]["name"]: p for p in all_of(objs, "PersistentVolumeClaim")}
    if source == "local":
        assert volumes["data"]["hostPath"] == {"path": "/data/export-20190820", "type": "Directory"}
        assert pod["nodeSelector"] == {"kubernetes.io/hostname": "kind-worker3"}
        assert "initContainers" not in pod
    elif source == "adhoc":
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "old-tidb-lightning-data"
        assert "initContainers" not in pod and "nodeSelector" not in pod
    else:
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "rel-tidb-lightning-data"
        data_pvc = pvcs["rel-tidb-lightning-data"]
        assert data_pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
        assert data_pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert volumes["rclone-config"]["secret"]["secretName"] == "cloud-storage-secret"
        init = container(pod, "data-retriever", init=True)
        assert init["command"][:2] == ["/bin/sh", "-c"]
        ienv = {e["name"]: e["value"] for e in init["env"]}
        assert ienv["DATA_ROOT"] == DATA_ROOT and ienv["RCLONE_CONFIG"] == "/etc/rclone/rclone.conf"
        imounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
        assert imounts == {"data": DATA_ROOT, "rclone-config": "/etc/rclone"}
        iscript = init["command"][2]
        assert "name='sbtest_16_1e7'" in iscript
        if source == "remote-tarball":
            assert init["image"] == "rclone/rclone:1.66.0"
            assert data_pvc["spec"]["storageClassName"] == "local-storage"
            assert "src='s3:bench-data-us/sysbench/sbtest_16_1e7.tar.gz'" in iscript
            assert 'rclone copyto' in iscript and 'tar -xzf "$tarball"' in iscript
        else:
            assert "storageClassName" not in data_pvc["spec"]  # the cluster's default class
            assert "src='s3:bench-data-us/sysbench/sbtest_16_1e7/'" in iscript
            assert 'rclone copy ' in iscript and "tar " not in iscript

    # the sorted-kv PVC, only for the local backend
    if backend == "local":
        assert mounts["sorted-kv"] == "/var/lib/sorted-kv"
        assert volumes["sorted-kv"]["persistentVolumeClaim"]["claimName"] == "rel-tidb-lightning-sorted-kv"
        assert pvcs["rel-tidb-lightning-sorted-kv"]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    else:
        assert "sorted-kv" not in mounts and "rel-tidb-lightning-sorted-kv" not in pvcs
    remote = source.startswith("remote")
    assert len(pvcs) == (backend == "local") + remote

    # flags passed to the binary
    flags = script_flags(script)
    data_flag = '"$data_dir"'
    assert flags[:3] == ["--config=/etc/tidb-lightning/tidb-lightning.toml", "-d", "$data_dir"]
    assert f"--backend={backend}" in flags
    assert "--pd-urls=tc-pd.tidb:2379" in flags
    assert "--tidb-host=tc-tidb.tidb" in flags and "--tidb-port=4000" in flags and "--tidb-user=root" in flags
    assert ("--sorted-kv-dir=/var/lib/sorted-kv" in flags) == (backend == "local")
    assert not any(f.startswith(("--status-addr", "--importer", "--server-mode")) for f in flags)
    expected_dir = DATA_DIR[source]
    assert f'data_dir="$DATA_ROOT"' in script and (expected_dir == DATA_ROOT or expected_dir.rsplit("/", 1)[1] in script)
    assert data_flag not in flags
    assert "exec tidb-lightning \"$@\"" in script

    # the generated config
    cfg = lightning_toml(objs)
    assert cfg["tikv-importer"]["backend"] == backend
    assert cfg["mydumper"]["data-source-dir"] == expected_dir
    assert cfg["checkpoint"] == {"enable": True, "driver": "file",
                                 "dsn": expected_dir + "/tidb_lightning_checkpoint.pb"}
    assert cfg["tidb"]["host"] == "tc-tidb.tidb" and cfg["tidb"]["port"] == 4000 and cfg["tidb"]["user"] == "root"
    assert cfg["tidb"]["pd-addr"] == "tc-pd.tidb:2379"
    assert cfg["lightning"] == {"level": "info", "file": "-"}  # no status-addr
    assert ("sorted-kv-dir" in cfg["tikv-importer"]) == (backend == "local")
    assert "addr" not in cfg["tikv-importer"]

    # TLS
    cluster_tls, client_tls = tls in ("cluster", "both"), tls in ("client", "both")
    if cluster_tls:
        assert mounts["lightning-tls"] == "/var/lib/lightning-tls"
        assert volumes["lightning-tls"]["secret"]["secretName"] == "tc-lightning-cluster-secret"
        assert cfg["security"] == {"ca-path": "/var/lib/lightning-tls/ca.crt",
                                   "cert-path": "/var/lib/lightning-tls/tls.crt",
                                   "key-path": "/var/lib/lightning-tls/tls.key"}
    else:
        assert "lightning-tls" not in mounts and "security" not in cfg
    if client_tls:
        assert mounts["tidb-client-tls"] == "/var/lib/tidb-client-tls"
        want = "my-client-cert" if tls == "both" else "tc-tidb-client-secret"
        assert volumes["tidb-client-tls"]["secret"]["secretName"] == want
        assert cfg["tidb"]["security"]["ca-path"] == "/var/lib/tidb-client-tls/ca.crt"
        assert "tls" not in cfg["tidb"]
    else:
        assert "tidb-client-tls" not in mounts and "security" not in cfg["tidb"]
        # cluster TLS alone: the MySQL connection must not pick up the cluster certificate
        assert cfg["tidb"].get("tls") == ("false" if cluster_tls else None)

    # status.enabled is false by default: no Service, no ports, no Prometheus annotations
    assert all_of(objs, "Service") == []
    assert sorted(o["kind"] for o in objs) == sorted(["ConfigMap", "Job"] + ["PersistentVolumeClaim"] * len(pvcs))
    assert "ports" not in main
    assert "annotations" not in job["spec"]["template"]["metadata"]


def test_kubernetes_validate_cli(rendered_dir):
    """The same check from the command line, as the recipe runs it."""
    files = sorted(str(p) for p in rendered_dir.glob("*.yaml"))
    assert len(files) == len(MATRIX)
    code, out = validate_cli(files)
    assert code == 0, out


def test_yamllint_cli(rendered_dir):
    code, out = yamllint_cli(rendered_dir)
    assert code == 0, out


def test_local_source_with_user_node_selector_has_one_node_selector():
    """TiDB Operator's chart rendered `nodeSelector:` twice here (local source + nodeSelector)."""
    values = lightning_values(nodeSelector={"disktype": "nvme"}, annotations={"team": "dba"},
                              tolerations=[{"key": "dedicated", "operator": "Equal", "value": "import",
                                            "effect": "NoSchedule"}],
                              affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                                  "nodeSelectorTerms": [{"matchExpressions": [
                                      {"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
                              resources={"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"memory": "16Gi"}},
                              serviceAccount="lightning-irsa", imagePullSecrets=[{"name": "regcred"}],
                              podLabels={"team": "dba"})
    rendered = render(LIGHTNING, values)
    text = as_stream(rendered)
    assert text.count("nodeSelector:") == 1
    assert duplicate_keys(text) == []
    objs = docs(rendered)
    assert k8s_errors(objs) == []
    pod = one(objs, "Job")["spec"]["template"]
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"disktype": "nvme", "kubernetes.io/hostname": "kind-worker3"}
    assert spec["tolerations"][0]["key"] == "dedicated"
    assert spec["affinity"]["nodeAffinity"]
    assert spec["serviceAccountName"] == "lightning-irsa"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert container(spec, "tidb-lightning")["resources"]["limits"] == {"memory": "16Gi"}
    assert pod["metadata"]["annotations"] == {"team": "dba"}
    assert pod["metadata"]["labels"]["team"] == "dba"


def test_no_status_port_service_or_prometheus_in_any_manifest(rendered_dir):
    """The status server is off by default (status.enabled: false): nothing of the chart may
    point at one, in any backend x source x TLS combination (nor in NOTES.txt)."""
    files = sorted(rendered_dir.glob("lightning-*.yaml"))
    assert len(files) == len(MATRIX)
    for f in files:
        text = f.read_text()
        for banned in ("status-addr", "--status-addr", "prometheus.io", "containerPort", "ports:", "8289",
                       "kind: Service", "/metrics", "server-mode", "pprof", "importer.tidb", ":8287"):
            assert banned not in text, f"{banned!r} in {f.name}"
        objs = [o for o in yaml.safe_load_all(text) if o]
        assert all_of(objs, "Service") == []
        for job in all_of(objs, "Job"):
            tmpl = job["spec"]["template"]
            assert "prometheus.io/scrape" not in (tmpl["metadata"].get("annotations") or {})
            for c in tmpl["spec"]["containers"] + tmpl["spec"].get("initContainers", []):
                assert "ports" not in c and "readinessProbe" not in c and "livenessProbe" not in c
        assert "status-addr" not in lightning_toml(objs).get("lightning", {})
    for source in SOURCES:
        notes = render_notes(LIGHTNING, lightning_values(source=source))
        assert "port-forward" not in notes and "svc/" not in notes and "8289" not in notes
        assert "The status server (HTTP API, /metrics) is off: set status.enabled: true" in notes


def test_user_annotations_are_passed_through():
    values = lightning_values(annotations={"team": "dba", "example.com/owner": "import"})
    text = as_stream(render(LIGHTNING, values))
    assert duplicate_keys(text) == []
    job = one(docs(render(LIGHTNING, values)), "Job")
    assert job["spec"]["template"]["metadata"]["annotations"] == {"team": "dba", "example.com/owner": "import"}


@pytest.mark.parametrize("value,expected", [(False, "false"), ("false", "false"), ("true", "true")])
def test_fail_fast_is_passed_to_the_container(value, expected):
    """`--set-string failFast=true` (as in the TiDB Operator docs) works like the boolean."""
    objs = docs(render(LIGHTNING, lightning_values(failFast=value)))
    env = {e["name"]: e.get("value") for e in container(one(objs, "Job")["spec"]["template"]["spec"], "tidb-lightning")["env"]}
    assert env["FAIL_FAST"] == expected


def test_password_from_secret_is_an_env_var_passed_as_flag():
    values = lightning_values(targetTidbCluster={"secretName": "tidb-secret", "secretPwdKey": "pw", "user": "lightning"})
    objs = docs(render(LIGHTNING, values))
    main = container(one(objs, "Job")["spec"]["template"]["spec"], "tidb-lightning")
    env = {e["name"]: e for e in main["env"]}
    assert env["TIDB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "tidb-secret", "key": "pw"}}
    assert '"--tidb-password=$TIDB_PASSWORD"' in main["command"][2]
    assert "--tidb-user=lightning" in script_flags(main["command"][2])
    assert "password" not in lightning_toml(objs)["tidb"]
    # no secret: no password variable at all
    objs = docs(render(LIGHTNING, lightning_values()))
    main = container(one(objs, "Job")["spec"]["template"]["spec"], "tidb-lightning")
    assert "TIDB_PASSWORD" not in {e["name"] for e in main["env"]}


def test_config_passthrough_merges_over_generated_toml():
    extra = '[lightning]\nlevel = "debug"\nregion-concurrency = 8\n[tidb]\ntls = "skip-verify"\n' \
            '[checkpoint]\nkeep-after-success = true\n[mydumper.csv]\nseparator = "|"\n'
    objs = docs(render(LIGHTNING, lightning_values(source="adhoc", tls="cluster", config=extra)))
    cfg = lightning_toml(objs)
    assert cfg["lightning"]["level"] == "debug" and cfg["lightning"]["region-concurrency"] == 8
    assert cfg["tidb"]["tls"] == "skip-verify" and cfg["tidb"]["host"] == "tc-tidb.tidb"
    assert cfg["checkpoint"]["keep-after-success"] is True
    assert cfg["checkpoint"]["dsn"] == DATA_ROOT + "/sbtest_16_1e7/tidb_lightning_checkpoint.pb"
    assert cfg["mydumper"] == {"data-source-dir": DATA_ROOT + "/sbtest_16_1e7", "csv": {"separator": "|"}}


def test_checkpoint_can_move_out_of_the_data_folder():
    extra = '[checkpoint]\ndriver = "mysql"\ndsn = "root:@tcp(cp-db:3306)/"\n'
    cfg = lightning_toml(docs(render(LIGHTNING, lightning_values(config=extra))))
    assert cfg["checkpoint"] == {"enable": True, "driver": "mysql", "dsn": "root:@tcp(cp-db:3306)/"}


def test_operator_docs_spelling_of_client_secret_is_accepted():
    values = lightning_values(tls="client", tlsCluster={"tlsClientSecretName": "from-docs"})
    pod = one(docs(render(LIGHTNING, values)), "Job")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["tidb-client-tls"]["secret"]["secretName"] == "from-docs"


def test_remote_options():
    values = lightning_values(source="remote-directory")
    values["dataSource"]["remote"].update({"backupName": "dump-2026", "keepPVC": False})
    objs = docs(render(LIGHTNING, values))
    pvc = one(objs, "PersistentVolumeClaim", "rel-tidb-lightning-data")
    assert "annotations" not in pvc["metadata"]
    assert lightning_toml(objs)["mydumper"]["data-source-dir"] == DATA_ROOT + "/dump-2026"
    init = container(one(objs, "Job")["spec"]["template"]["spec"], "data-retriever", init=True)
    assert "name='dump-2026'" in init["command"][2]


@pytest.mark.parametrize("directory,name", [("s3:bucket", "bucket"), ("gcs:b/x/y", "y"), ("ceph:b/dump/", "dump")])
def test_remote_directory_folder_names(directory, name):
    values = lightning_values(source="remote-directory")
    values["dataSource"]["remote"]["directory"] = directory
    cfg = lightning_toml(docs(render(LIGHTNING, values)))
    assert cfg["mydumper"]["data-source-dir"] == f"{DATA_ROOT}/{name}"


def test_adhoc_without_backup_name_uses_the_volume_root():
    values = lightning_values(source="adhoc")
    del values["dataSource"]["adhoc"]["backupName"]
    cfg = lightning_toml(docs(render(LIGHTNING, values)))
    assert cfg["mydumper"]["data-source-dir"] == DATA_ROOT
    assert cfg["checkpoint"]["dsn"] == DATA_ROOT + "/tidb_lightning_checkpoint.pb"


def test_job_name():
    objs = docs(render(LIGHTNING, lightning_values(jobName="import-2026")))
    assert k8s_errors(objs) == []
    assert one(objs, "Job")["metadata"]["name"] == "import-2026"


def test_notes_tell_how_to_reuse_a_remote_download():
    notes = render_notes(LIGHTNING, lightning_values(source="remote-tarball"))
    assert "pvcName: rel-tidb-lightning-data" in notes and "backupName: sbtest_16_1e7" in notes


def test_chart_metadata():
    chart = yaml.safe_load((LIGHTNING / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "tidb-lightning"
    major, minor, patch = chart["version"].split(".")
    assert all(p.isdigit() for p in (major, minor, patch))
    assert (LIGHTNING / "values.schema.json").is_file()
    # service.yaml renders only with status.enabled and status.service (test_status.py)
    assert (LIGHTNING / "templates" / "service.yaml").is_file()


def test_chart_defaults_offer_no_status_or_importer_values():
    defaults = yaml.safe_load((LIGHTNING / "values.yaml").read_text())
    assert not {"statusPort", "service", "importer"} & set(defaults)
    assert defaults["status"] == {"enabled": False, "port": 8289, "service": False}
    assert defaults["backend"] == "local"

"""Values that must not render, each with a message that says what to fix."""
import pytest

from conftest import (BACKENDS, IMPORTER_NOT_BUILT, LIGHTNING, NO_SERVER_MODE, SCHEME_DIFFERS, SOURCES,
                      USE_STATUS_CONFIG, USE_STATUS_VALUES, chart_defaults, lightning_values, render_error)

CONFIG_CERT = '[security]\nca-path = "/certs/ca.crt"\ncert-path = "/certs/tls.crt"\nkey-path = "/certs/tls.key"\n'

EXACTLY_ONE = "exactly one of dataSource.local, dataSource.remote or dataSource.adhoc must be set"


def test_chart_defaults_have_no_data_source():
    err = render_error(LIGHTNING, chart_defaults(LIGHTNING))
    assert EXACTLY_ONE in err and "none is" in err


@pytest.mark.parametrize("pair", [("local", "remote-tarball"), ("remote-directory", "adhoc"), ("local", "adhoc")])
def test_two_data_sources(pair):
    values = lightning_values(source=pair[0])
    values["dataSource"].update(SOURCES[pair[1]])
    err = render_error(LIGHTNING, values)
    assert EXACTLY_ONE in err
    for mode in (pair[0].split("-")[0], pair[1].split("-")[0]):
        assert mode in err.split("but", 1)[1]


def test_three_data_sources():
    values = lightning_values()
    for s in ("remote-tarball", "adhoc"):
        values["dataSource"].update(SOURCES[s])
    assert "local and remote and adhoc are set" in render_error(LIGHTNING, values)


def test_unknown_backend():
    err = render_error(LIGHTNING, lightning_values(backend="importer-v2"))
    assert "backend" in err and "local" in err and "tidb" in err


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("tls", ["off", "both"])
def test_importer_backend_is_refused(source, tls):
    """tikv-importer is not built: `backend: importer` must not render, in any combination."""
    err = render_error(LIGHTNING, lightning_values(backend="importer", source=source, tls=tls))
    assert "backend: importer" in err and IMPORTER_NOT_BUILT in err


def test_importer_backend_is_refused_as_a_set_string():
    values = lightning_values()
    values["backend"] = "importer"  # as --set backend=importer over the chart's values.yaml
    assert IMPORTER_NOT_BUILT in render_error(LIGHTNING, values)


def test_importer_address_is_refused():
    err = render_error(LIGHTNING, lightning_values(importer={"address": "imp.tidb:8287"}))
    assert "importer.address" in err and IMPORTER_NOT_BUILT in err


def test_importer_backend_in_config_is_refused():
    err = render_error(LIGHTNING, lightning_values(config='[tikv-importer]\nbackend = "importer"\n'))
    assert "[tikv-importer] backend" in err and IMPORTER_NOT_BUILT in err


@pytest.mark.parametrize("status", [{}, {"status": {"enabled": True}}], ids=["status_off", "status_on"])
@pytest.mark.parametrize("key,value", [("statusPort", 8289), ("service", {"type": "NodePort"}), ("service", {})])
def test_operator_status_values_are_refused(key, value, status):
    """TiDB Operator's chart's statusPort and service are not this chart's values: an old
    values file that still sets them fails, naming the key and pointing to status.*, instead
    of being silently ignored (also with status.enabled)."""
    values = lightning_values(**status)
    values[key] = value
    err = render_error(LIGHTNING, values)
    assert f"{key}: not a value of this chart" in err and USE_STATUS_VALUES in err
    assert f"remove {key} from your values" in err


@pytest.mark.parametrize("key", ["prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path",
                                 "prometheus.io/scheme"])
def test_prometheus_annotations_without_status_server_are_refused(key):
    err = render_error(LIGHTNING, lightning_values(annotations={key: "true"}))
    assert f"annotations: {key}" in err
    assert "the status server (and its /metrics) is off; set status.enabled: true instead" in err


@pytest.mark.parametrize("key,value", [("prometheus.io/port", "9999"), ("prometheus.io/scrape", "false"),
                                       ("prometheus.io/path", "/other")])
def test_prometheus_annotations_contradicting_the_chart_are_refused(key, value):
    """With status.enabled the chart sets these itself; a different value would make
    Prometheus scrape the wrong thing (or nothing), so it fails instead of being overridden."""
    err = render_error(LIGHTNING, lightning_values(status={"enabled": True}, annotations={key: value}))
    assert f"annotations: {key}" in err and "differs from the chart's" in err


@pytest.mark.parametrize("tls", ["off", "client"])
@pytest.mark.parametrize("value", ["https", "HTTP", "ftp"])
def test_prometheus_scheme_other_than_http_without_certificates_is_refused(value, tls):
    """No [security] cert-path: the status port speaks plain HTTP."""
    err = render_error(LIGHTNING, lightning_values(tls=tls, status={"enabled": True},
                                                   annotations={"prometheus.io/scheme": value}))
    assert SCHEME_DIFFERS % ('"%s"' % value, '"http"') in err
    assert "the status port speaks plain HTTP" in err and "remove it" in err


def test_status_service_without_status_server_is_refused():
    err = render_error(LIGHTNING, lightning_values(status={"enabled": False, "service": True}))
    assert "status.service: true needs status.enabled: true" in err


@pytest.mark.parametrize("status", [{}, {"status": {"enabled": True}}], ids=["status_off", "status_on"])
@pytest.mark.parametrize("line", ['status-addr = ":8289"', "pprof-port = 8289"])
def test_status_address_in_config_is_refused(line, status):
    err = render_error(LIGHTNING, lightning_values(config=f"[lightning]\nlevel = \"info\"\n{line}\n", **status))
    assert "config: [lightning] " + line.split(" ")[0] in err and USE_STATUS_CONFIG in err


@pytest.mark.parametrize("status", [{}, {"status": {"enabled": True}}], ids=["status_off", "status_on"])
def test_server_mode_in_config_is_refused(status):
    err = render_error(LIGHTNING, lightning_values(config="[lightning]\nserver-mode = true\n", **status))
    assert "config: [lightning] server-mode" in err and NO_SERVER_MODE in err


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("tls", ["cluster", "both"])
@pytest.mark.parametrize("value", ["http", "HTTPS"])
def test_prometheus_scheme_contradicting_https_is_refused(value, tls, source, backend):
    """tlsCluster renders [security] cert-path: the status port speaks HTTPS, and the chart
    annotates prometheus.io/scheme: https; a user annotation saying otherwise fails."""
    err = render_error(LIGHTNING, lightning_values(backend, source, tls, status={"enabled": True},
                                                   annotations={"prometheus.io/scheme": value}))
    assert SCHEME_DIFFERS % ('"%s"' % value, '"https"') in err
    assert "the rendered [security] has cert-path" in err and "speaks HTTPS" in err and "remove it" in err


def test_prometheus_http_scheme_with_a_certificate_in_config_is_refused():
    err = render_error(LIGHTNING, lightning_values(status={"enabled": True}, config=CONFIG_CERT,
                                                   annotations={"prometheus.io/scheme": "http"}))
    assert SCHEME_DIFFERS % ('"http"', '"https"') in err and "speaks HTTPS" in err


@pytest.mark.parametrize("value", ["http", "https"])
def test_prometheus_scheme_without_status_server_is_refused_also_with_certificates(value):
    err = render_error(LIGHTNING, lightning_values(tls="cluster", annotations={"prometheus.io/scheme": value}))
    assert "annotations: prometheus.io/scheme" in err
    assert "the status server (and its /metrics) is off; set status.enabled: true instead" in err


@pytest.mark.parametrize("status", [{"port": 0}, {"port": 70000}, {"port": "8289"}, {"enabled": "yes"},
                                    {"service": "ClusterIP"}, {"type": "NodePort"}])
def test_bad_status_values_are_rejected_by_the_schema(status):
    err = render_error(LIGHTNING, lightning_values(status=status))
    assert "schema" in err and "/status" in err


@pytest.mark.parametrize("config,key", [
    ('[tikv-importer]\nbackend = "tidb"\n', "[tikv-importer] backend"),
    ('[tikv-importer]\nsorted-kv-dir = "/tmp/kv"\n', "[tikv-importer] sorted-kv-dir"),
    ('[mydumper]\ndata-source-dir = "/elsewhere"\n', "[mydumper] data-source-dir"),
    ('[tidb]\nhost = "other-tidb"\n', "[tidb] host"),
    ('[tidb]\nport = 4001\n', "[tidb] port"),
    ('[tidb]\nuser = "admin"\n', "[tidb] user"),
    ('[tidb]\npd-addr = "pd:2379"\n', "[tidb] pd-addr"),
])
def test_config_keys_the_flags_would_override_are_refused(config, key):
    """The start script passes these as flags, which tidb-lightning reads over the file:
    a different value in `config` would be silently ignored, so it fails instead."""
    err = render_error(LIGHTNING, lightning_values(backend="local", config=config))
    assert key in err and "set by the chart as" in err


def test_config_password_with_a_password_secret_is_refused():
    values = lightning_values(targetTidbCluster={"secretName": "tidb-secret"}, config='[tidb]\npassword = "x"\n')
    assert "[tidb] password" in render_error(LIGHTNING, values)


def test_remote_without_secret_name():
    values = lightning_values(source="remote-tarball")
    del values["dataSource"]["remote"]["secretName"]
    err = render_error(LIGHTNING, values)
    assert "dataSource.remote.secretName is required" in err and "rclone.conf" in err


def test_remote_with_empty_secret_name():
    values = lightning_values(source="remote-directory")
    values["dataSource"]["remote"]["secretName"] = ""
    assert "dataSource.remote.secretName is required" in render_error(LIGHTNING, values)


def test_remote_with_path_and_directory():
    values = lightning_values(source="remote-tarball")
    values["dataSource"]["remote"]["directory"] = "s3:bucket/dir"
    assert "either path (a tarball) or directory, not both" in render_error(LIGHTNING, values)


def test_remote_with_neither_path_nor_directory():
    values = lightning_values(source="remote-tarball")
    del values["dataSource"]["remote"]["path"]
    assert "set path (a .tar.gz/.tgz/.tar tarball) or directory" in render_error(LIGHTNING, values)


def test_remote_path_must_be_a_tarball():
    values = lightning_values(source="remote-tarball")
    values["dataSource"]["remote"]["path"] = "s3:bucket/dump.zip"
    assert "path" in render_error(LIGHTNING, values)


def test_remote_without_storage():
    values = lightning_values(source="remote-tarball")
    del values["dataSource"]["remote"]["storage"]
    assert "dataSource.remote.storage is required" in render_error(LIGHTNING, values)


def test_local_without_host_path():
    values = lightning_values(source="local")
    del values["dataSource"]["local"]["hostPath"]
    assert "dataSource.local.hostPath is required" in render_error(LIGHTNING, values)


def test_local_without_node_name():
    values = lightning_values(source="local")
    del values["dataSource"]["local"]["nodeName"]
    assert "dataSource.local.nodeName is required" in render_error(LIGHTNING, values)


def test_adhoc_without_pvc_name():
    values = lightning_values(source="adhoc")
    del values["dataSource"]["adhoc"]["pvcName"]
    assert "dataSource.adhoc.pvcName is required" in render_error(LIGHTNING, values)


def test_local_backend_without_sorted_kv_size():
    values = lightning_values(backend="local")
    values["sortedKV"] = {"storageClassName": "fast", "storage": None}  # null deletes the default
    assert "sortedKV.storage is required for backend local" in render_error(LIGHTNING, values)


def test_password_secret_without_key():
    values = lightning_values(targetTidbCluster={"secretName": "tidb-secret", "secretPwdKey": ""})
    assert "secretPwdKey" in render_error(LIGHTNING, values)


def test_config_that_is_not_toml():
    assert "config: not valid TOML" in render_error(LIGHTNING, lightning_values(config="[tidb\nhost = 1"))


def test_misspelled_value_is_rejected_by_the_schema():
    values = lightning_values(source="local")
    values["dataSource"]["local"]["hostpath"] = "/data"
    assert "hostpath" in render_error(LIGHTNING, values)


def test_fail_fast_must_be_a_boolean():
    assert "failFast" in render_error(LIGHTNING, lightning_values(failFast="yes"))
    assert "failFast" in render_error(LIGHTNING, lightning_values(failFast=1))


# The tikv-importer chart refuses every render: see test_importer_chart.py.

"""Values that must not render, each with a message that says what to fix."""
import pytest

from conftest import (IMPORTER_NOT_BUILT, LIGHTNING, NO_STATUS_SERVER, SOURCES, chart_defaults, lightning_values,
                      render_error)

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


@pytest.mark.parametrize("key,value", [("statusPort", 8289), ("service", {"type": "NodePort"}), ("service", {})])
def test_status_values_are_refused(key, value):
    """No status server, so no status port or Service: an old values file that still sets
    them fails, naming the key, instead of being silently ignored."""
    values = lightning_values()
    values[key] = value
    err = render_error(LIGHTNING, values)
    assert key in err and NO_STATUS_SERVER in err


@pytest.mark.parametrize("key", ["prometheus.io/scrape", "prometheus.io/port"])
def test_prometheus_annotations_are_refused(key):
    err = render_error(LIGHTNING, lightning_values(annotations={key: "true"}))
    assert key in err and NO_STATUS_SERVER in err


@pytest.mark.parametrize("line", ['status-addr = ":8289"', "pprof-port = 8289", "server-mode = true"])
def test_status_keys_in_config_are_refused(line):
    err = render_error(LIGHTNING, lightning_values(config=f"[lightning]\nlevel = \"info\"\n{line}\n"))
    assert "[lightning] " + line.split(" ")[0] in err and NO_STATUS_SERVER in err


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

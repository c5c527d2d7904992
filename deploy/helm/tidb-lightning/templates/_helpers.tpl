{{/*
Names. The Job keeps the TiDB Operator chart's name, <release>-tidb-lightning.
*/}}
{{- define "tidb-lightning.fullname" -}}
{{- printf "%s-tidb-lightning" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidb-lightning.jobName" -}}
{{- .Values.jobName | default (include "tidb-lightning.fullname" .) -}}
{{- end -}}

{{- define "tidb-lightning.selectorLabels" -}}
app.kubernetes.io/name: tidb-lightning
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: tidb-lightning
{{- end -}}

{{- define "tidb-lightning.labels" -}}
{{ include "tidb-lightning.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Values.targetTidbCluster.name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
Quote a string for POSIX sh: 'it'\''s'.
*/}}
{{- define "tidb-lightning.shquote" -}}
{{- printf "'%s'" (replace "'" "'\\''" (toString .)) -}}
{{- end -}}

{{/*
Validates the values that the schema cannot express and returns the data source
mode: "local", "remote" or "adhoc". Every template includes it, so any render fails
with the same message.
*/}}
{{- define "tidb-lightning.sourceMode" -}}
{{- $ds := .Values.dataSource | default dict -}}
{{- $set := list -}}
{{- range $mode := list "local" "remote" "adhoc" -}}
{{- if not (empty (get $ds $mode)) -}}{{- $set = append $set $mode -}}{{- end -}}
{{- end -}}
{{- if eq (len $set) 0 -}}
{{- fail "dataSource: exactly one of dataSource.local, dataSource.remote or dataSource.adhoc must be set, but none is" -}}
{{- end -}}
{{- if gt (len $set) 1 -}}
{{- fail (printf "dataSource: exactly one of dataSource.local, dataSource.remote or dataSource.adhoc must be set, but %s are set" (join " and " $set)) -}}
{{- end -}}
{{- $mode := first $set -}}
{{- if eq $mode "local" -}}
{{- if not $ds.local.nodeName -}}{{- fail "dataSource.local.nodeName is required: the node whose directory holds the data (the pod is pinned to it)" -}}{{- end -}}
{{- if not $ds.local.hostPath -}}{{- fail "dataSource.local.hostPath is required: the directory on that node holding the data" -}}{{- end -}}
{{- else if eq $mode "remote" -}}
{{- if not $ds.remote.secretName -}}{{- fail "dataSource.remote.secretName is required: the name of a Secret holding rclone.conf (the rclone credentials)" -}}{{- end -}}
{{- if and $ds.remote.path $ds.remote.directory -}}{{- fail "dataSource.remote: set either path (a tarball) or directory, not both" -}}{{- end -}}
{{- if not (or $ds.remote.path $ds.remote.directory) -}}{{- fail "dataSource.remote: set path (a .tar.gz/.tgz/.tar tarball) or directory to download" -}}{{- end -}}
{{- if not $ds.remote.storage -}}{{- fail "dataSource.remote.storage is required: the size of the PVC the data is downloaded into, e.g. 100Gi" -}}{{- end -}}
{{- else -}}
{{- if not $ds.adhoc.pvcName -}}{{- fail "dataSource.adhoc.pvcName is required: the PVC of an earlier remote run to reuse" -}}{{- end -}}
{{- end -}}
{{- if eq .Values.backend "local" -}}
{{- if not (and .Values.sortedKV .Values.sortedKV.storage) -}}{{- fail "sortedKV.storage is required for backend local: the size of the sorted-kv-dir PVC" -}}{{- end -}}
{{- else if eq .Values.backend "importer" -}}
{{- fail (include "tidb-lightning.importerNotBuilt" "backend: importer") -}}
{{- else if ne .Values.backend "tidb" -}}
{{- fail (printf "backend: %q is not one of local, tidb" (toString .Values.backend)) -}}
{{- end -}}
{{- if and .Values.importer .Values.importer.address -}}
{{- fail (include "tidb-lightning.importerNotBuilt" "importer.address") -}}
{{- end -}}
{{- $status := .Values.status | default dict -}}
{{- if and $status.service (not $status.enabled) -}}
{{- fail "status.service: true needs status.enabled: true (the Service points at the status port, which only listens with status.enabled)" -}}
{{- end -}}
{{- $promAnn := include "tidb-lightning.prometheusAnnotations" . | fromYaml -}}
{{- range $key, $value := .Values.annotations | default dict -}}
{{- if hasPrefix "prometheus.io/" $key -}}
{{- if not $status.enabled -}}
{{- fail (printf "annotations: %s: the status server (and its /metrics) is off; set status.enabled: true instead (the chart then adds prometheus.io/scrape, prometheus.io/port and prometheus.io/path itself)" $key) -}}
{{- end -}}
{{- if and (hasKey $promAnn $key) (ne (toString $value) (get $promAnn $key)) -}}
{{- fail (printf "annotations: %s: %q differs from the chart's %q (from status.enabled/status.port); remove it" $key (toString $value) (get $promAnn $key)) -}}
{{- end -}}
{{- /* prometheus.io/scheme depends on the rendered [security]: checked by tidb-lightning.checkStatusScheme */ -}}
{{- end -}}
{{- end -}}
{{- range $key := list "statusPort" "service" -}}
{{- if hasKey $.Values $key -}}
{{- fail (printf "%s: not a value of this chart: the status server is set with status.enabled, status.port (default 8289) and status.service (a ClusterIP Service); remove %s from your values" $key $key) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.targetTidbCluster.secretName (not .Values.targetTidbCluster.secretPwdKey) -}}
{{- fail "targetTidbCluster.secretPwdKey is required with targetTidbCluster.secretName: the key of the password in that Secret" -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{/*
Sub-folder of the data volume that holds the data source ("" = the volume root).
remote: backupName, else the tarball name without .tar.gz/.tgz/.tar, else the
directory's last path element; adhoc: backupName.
*/}}
{{- define "tidb-lightning.dataName" -}}
{{- $mode := include "tidb-lightning.sourceMode" . -}}
{{- if eq $mode "remote" -}}
{{- $r := .Values.dataSource.remote -}}
{{- $name := "" -}}
{{- if $r.backupName -}}
{{- $name = $r.backupName -}}
{{- else if $r.path -}}
{{- $name = base $r.path | trimSuffix ".tar.gz" | trimSuffix ".tgz" | trimSuffix ".tar" -}}
{{- else -}}
{{- $name = last (splitList ":" (base (trimSuffix "/" $r.directory))) -}}
{{- end -}}
{{- if or (empty $name) (eq $name ".") (eq $name "..") (hasPrefix "." $name) (contains "'" $name) -}}
{{- fail (printf "dataSource.remote: cannot derive a folder name from %q; set dataSource.remote.backupName" (toString ($r.path | default $r.directory))) -}}
{{- end -}}
{{- $name -}}
{{- else if eq $mode "adhoc" -}}
{{- .Values.dataSource.adhoc.backupName | default "" -}}
{{- end -}}
{{- end -}}

{{/* Where the data volume is mounted in every container. */}}
{{- define "tidb-lightning.dataRoot" -}}/var/lib/tidb-lightning{{- end -}}

{{/* The data source folder passed as -d; the checkpoint lives in it. */}}
{{- define "tidb-lightning.dataDir" -}}
{{- $name := include "tidb-lightning.dataName" . -}}
{{- if $name -}}
{{- printf "%s/%s" (include "tidb-lightning.dataRoot" .) $name -}}
{{- else -}}
{{- include "tidb-lightning.dataRoot" . -}}
{{- end -}}
{{- end -}}

{{- define "tidb-lightning.sortedKVDir" -}}/var/lib/sorted-kv{{- end -}}

{{- define "tidb-lightning.clusterNamespace" -}}
{{- .Values.targetTidbCluster.namespace | default .Release.Namespace -}}
{{- end -}}

{{- define "tidb-lightning.pdAddr" -}}
{{- printf "%s-pd.%s:%d" .Values.targetTidbCluster.name (include "tidb-lightning.clusterNamespace" .) (int (.Values.targetTidbCluster.pdClientPort | default 2379)) -}}
{{- end -}}

{{- define "tidb-lightning.tidbHost" -}}
{{- printf "%s-tidb.%s" .Values.targetTidbCluster.name (include "tidb-lightning.clusterNamespace" .) -}}
{{- end -}}

{{/*
The status server (`--status-addr=:<status.port>`): "true" when status.enabled, else "".
*/}}
{{- define "tidb-lightning.statusEnabled" -}}
{{- if and .Values.status .Values.status.enabled -}}true{{- end -}}
{{- end -}}

{{- define "tidb-lightning.statusPort" -}}
{{- $s := .Values.status | default dict -}}
{{- int ($s.port | default 8289) -}}
{{- end -}}

{{/*
The pod annotations Prometheus discovers the status server by (YAML; empty when it is off),
without prometheus.io/scheme, which depends on the rendered config (tidb-lightning.statusScheme).
sourceMode uses it, so it must not include tidb-lightning.config.
*/}}
{{- define "tidb-lightning.prometheusAnnotations" -}}
{{- if include "tidb-lightning.statusEnabled" . -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ include "tidb-lightning.statusPort" . | quote }}
prometheus.io/path: /metrics
{{- end -}}
{{- end -}}

{{/*
"true" when the argument, a tidb-lightning.toml as a map, has a [security] cert-path: then
tidb-lightning serves the status port over TLS (HTTPS) with cert-path/key-path.
*/}}
{{- define "tidb-lightning.hasSecurityCert" -}}
{{- $sec := get . "security" -}}
{{- if and (kindIs "map" $sec) (get $sec "cert-path") -}}true{{- end -}}
{{- end -}}

{{/*
The status server's scheme: "https" when status.enabled and the rendered [security] has
cert-path (tlsCluster.enabled, or config), "http" when status.enabled without it, "" when off.
*/}}
{{- define "tidb-lightning.statusScheme" -}}
{{- if include "tidb-lightning.statusEnabled" . -}}
{{- if include "tidb-lightning.hasSecurityCert" (include "tidb-lightning.config" . | fromToml) -}}https{{- else -}}http{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fails when a user prometheus.io/scheme annotation contradicts the status port's scheme.
Argument: (list <root context> <rendered config as a map>).
*/}}
{{- define "tidb-lightning.checkStatusScheme" -}}
{{- $root := index . 0 -}}
{{- $ann := $root.Values.annotations | default dict -}}
{{- if and (include "tidb-lightning.statusEnabled" $root) (hasKey $ann "prometheus.io/scheme") -}}
{{- $value := toString (get $ann "prometheus.io/scheme") -}}
{{- if include "tidb-lightning.hasSecurityCert" (index . 1) -}}
{{- if ne $value "https" -}}
{{- fail (printf "annotations: prometheus.io/scheme: %q differs from the chart's \"https\": the rendered [security] has cert-path (from tlsCluster.enabled or config), so the status port speaks HTTPS; remove it" $value) -}}
{{- end -}}
{{- else if ne $value "http" -}}
{{- fail (printf "annotations: prometheus.io/scheme: %q differs from the chart's \"http\": the rendered [security] has no cert-path, so the status port speaks plain HTTP (it speaks HTTPS with tlsCluster.enabled or a [security] cert-path in config); remove it" $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The message for anything that needs tikv-importer; the argument names the value.
*/}}
{{- define "tidb-lightning.importerNotBuilt" -}}
{{- printf "%s: backend importer needs tikv-importer, which is not built yet; use backend local (physical import) or tidb (SQL)" . -}}
{{- end -}}

{{- define "tidb-lightning.tlsClusterSecret" -}}
{{- .Values.tlsCluster.secretName | default (printf "%s-lightning-cluster-secret" .Values.targetTidbCluster.name) -}}
{{- end -}}

{{- define "tidb-lightning.tlsClientSecret" -}}
{{- $s := "" -}}
{{- if .Values.tlsClient -}}{{- $s = .Values.tlsClient.tlsClientSecretName -}}{{- end -}}
{{- if and (not $s) .Values.tlsCluster -}}{{- $s = .Values.tlsCluster.tlsClientSecretName -}}{{- end -}}
{{- $s | default (printf "%s-tidb-client-secret" .Values.targetTidbCluster.name) -}}
{{- end -}}

{{- define "tidb-lightning.tlsClusterEnabled" -}}
{{- if and .Values.tlsCluster .Values.tlsCluster.enabled -}}true{{- end -}}
{{- end -}}

{{- define "tidb-lightning.tlsClientEnabled" -}}
{{- if and .Values.tlsClient .Values.tlsClient.enabled -}}true{{- end -}}
{{- end -}}

{{/*
tidb-lightning.toml: the chart's settings, with the user's `config` TOML merged over them.
*/}}
{{- define "tidb-lightning.config" -}}
{{- $tc := .Values.targetTidbCluster -}}
{{- $dataDir := include "tidb-lightning.dataDir" . -}}
{{- $importer := dict "backend" .Values.backend -}}
{{- if eq .Values.backend "local" -}}
{{- $_ := set $importer "sorted-kv-dir" (include "tidb-lightning.sortedKVDir" .) -}}
{{- end -}}
{{- $tidb := dict "host" (include "tidb-lightning.tidbHost" .) "port" (int ($tc.port | default 4000)) "user" ($tc.user | default "root") "status-port" (int ($tc.statusPort | default 10080)) "pd-addr" (include "tidb-lightning.pdAddr" .) -}}
{{- /* no [lightning] status-addr: the status server is the --status-addr flag (status.enabled) */ -}}
{{- $cfg := dict
    "tikv-importer" $importer
    "mydumper" (dict "data-source-dir" $dataDir)
    "checkpoint" (dict "enable" true "driver" "file" "dsn" (printf "%s/tidb_lightning_checkpoint.pb" $dataDir))
    "tidb" $tidb -}}
{{- if include "tidb-lightning.tlsClusterEnabled" . -}}
{{- $_ := set $cfg "security" (dict "ca-path" "/var/lib/lightning-tls/ca.crt" "cert-path" "/var/lib/lightning-tls/tls.crt" "key-path" "/var/lib/lightning-tls/tls.key") -}}
{{- end -}}
{{- if include "tidb-lightning.tlsClientEnabled" . -}}
{{- $_ := set $tidb "security" (dict "ca-path" "/var/lib/tidb-client-tls/ca.crt" "cert-path" "/var/lib/tidb-client-tls/tls.crt" "key-path" "/var/lib/tidb-client-tls/tls.key") -}}
{{- else if include "tidb-lightning.tlsClusterEnabled" . -}}
{{- /* cluster TLS only: do not let the MySQL connection pick up the cluster certificate */ -}}
{{- $_ := set $tidb "tls" "false" -}}
{{- end -}}
{{- $user := dict -}}
{{- if .Values.config -}}
{{- $user = fromToml .Values.config -}}
{{- if hasKey $user "Error" -}}
{{- fail (printf "config: not valid TOML: %s" (get $user "Error")) -}}
{{- end -}}
{{- $ul := get $user "lightning" -}}
{{- if kindIs "map" $ul -}}
{{- range $key := list "status-addr" "pprof-port" -}}
{{- if get $ul $key -}}
{{- fail (printf "config: [lightning] %s: use status.enabled and status.port instead (the chart then passes --status-addr and publishes the port); remove it" $key) -}}
{{- end -}}
{{- end -}}
{{- if get $ul "server-mode" -}}
{{- fail "config: [lightning] server-mode: the chart runs one import as a Job; server mode is not offered; remove it" -}}
{{- end -}}
{{- end -}}
{{- $ui := get $user "tikv-importer" -}}
{{- if and (kindIs "map" $ui) (eq (toString (get $ui "backend")) "importer") -}}
{{- fail (include "tidb-lightning.importerNotBuilt" "config: [tikv-importer] backend = \"importer\"") -}}
{{- end -}}
{{- /* keys the start script also passes as flags: the flag would win, so a different value is refused */ -}}
{{- $shadowed := list
    (list "mydumper" "data-source-dir" $dataDir "-d (from dataSource)")
    (list "tikv-importer" "backend" .Values.backend "--backend (the value backend)")
    (list "tidb" "pd-addr" (include "tidb-lightning.pdAddr" .) "--pd-urls (from targetTidbCluster)")
    (list "tidb" "host" $tidb.host "--tidb-host (from targetTidbCluster.name/namespace)")
    (list "tidb" "port" $tidb.port "--tidb-port (the value targetTidbCluster.port)")
    (list "tidb" "user" $tidb.user "--tidb-user (the value targetTidbCluster.user)") -}}
{{- if eq .Values.backend "local" -}}
{{- $shadowed = append $shadowed (list "tikv-importer" "sorted-kv-dir" (include "tidb-lightning.sortedKVDir" .) "--sorted-kv-dir (the sortedKV volume)") -}}
{{- end -}}
{{- if $tc.secretName -}}
{{- $shadowed = append $shadowed (list "tidb" "password" "" "--tidb-password (from targetTidbCluster.secretName)") -}}
{{- end -}}
{{- range $s := $shadowed -}}
{{- $sec := get $user (index $s 0) -}}
{{- if and (kindIs "map" $sec) (hasKey $sec (index $s 1)) (ne (toString (get $sec (index $s 1))) (toString (index $s 2))) -}}
{{- fail (printf "config: [%s] %s is set by the chart as %s, which tidb-lightning reads over the config file; remove it from config and set the chart value instead" (index $s 0) (index $s 1) (index $s 3)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $merged := mustMergeOverwrite $cfg $user -}}
{{- /* with a [security] cert-path the status port speaks HTTPS: a user prometheus.io/scheme must agree */ -}}
{{- include "tidb-lightning.checkStatusScheme" (list . $merged) -}}
{{- toToml $merged -}}
{{- end -}}

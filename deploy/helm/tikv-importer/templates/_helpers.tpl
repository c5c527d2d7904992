{{/*
Every template of this chart starts with this include, so any render (helm install,
upgrade, template) fails: this project has no tikv-importer binary yet, and a chart
never deploys a binary, port or Service that does not exist. The rest of the chart is
kept as the starting point for the issue that builds tikv-importer; that issue removes
this guard (and the include lines) once the binary and its ports exist.
*/}}
{{- define "tikv-importer.notBuilt" -}}
{{- fail "tikv-importer is not built yet: this project has no tikv-importer binary, so this chart deploys nothing (the tidb-lightning chart's backend importer is refused for the same reason; use backend local or tidb)" -}}
{{- end -}}

{{- define "tikv-importer.name" -}}
{{- printf "%s-importer" .Values.clusterName | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tikv-importer.selectorLabels" -}}
app.kubernetes.io/name: tikv-importer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: importer
{{- end -}}

{{- define "tikv-importer.labels" -}}
{{ include "tikv-importer.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Values.clusterName }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "tikv-importer.importDir" -}}/var/lib/tikv-importer{{- end -}}

{{/* tikv-importer.toml: the chart's settings with the user's `config` TOML merged over them. */}}
{{- define "tikv-importer.config" -}}
{{- $cfg := dict
    "status-server-address" (printf "0.0.0.0:%d" (int .Values.statusPort))
    "server" (dict "addr" (printf "0.0.0.0:%d" (int .Values.port)))
    "import" (dict "import-dir" (include "tikv-importer.importDir" .)) -}}
{{- if and .Values.tlsCluster .Values.tlsCluster.enabled -}}
{{- $_ := set $cfg "security" (dict "ca-path" "/var/lib/importer-tls/ca.crt" "cert-path" "/var/lib/importer-tls/tls.crt" "key-path" "/var/lib/importer-tls/tls.key") -}}
{{- end -}}
{{- $user := dict -}}
{{- if .Values.config -}}
{{- $user = fromToml .Values.config -}}
{{- if hasKey $user "Error" -}}
{{- fail (printf "config: not valid TOML: %s" (get $user "Error")) -}}
{{- end -}}
{{- end -}}
{{- toToml (mustMergeOverwrite $cfg $user) -}}
{{- end -}}

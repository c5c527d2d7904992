{{/*
The rclone init container. Runs with DATA_ROOT (the data volume) and RCLONE_CONFIG in
its environment. The data ends up in $DATA_ROOT/<name>; that folder only appears (by
rename) once the download (and unpacking) finished, so its presence means "done" and
a later run skips the download. POSIX sh: works with busybox (rclone image) and dash.
*/}}
{{- define "tidb-lightning.retrieverScript" -}}
{{- $r := .Values.dataSource.remote -}}
set -eu
: "${DATA_ROOT:?DATA_ROOT must be set}"
name={{ include "tidb-lightning.shquote" (include "tidb-lightning.dataName" .) }}
dest="$DATA_ROOT/$name"
if [ -d "$dest" ]; then
  echo "data-retriever: $dest already present, skipping the download"
  exit 0
fi
work="$DATA_ROOT/.incomplete-$name"
{{- if $r.path }}
src={{ include "tidb-lightning.shquote" $r.path }}
tarball="$DATA_ROOT/.download/${src##*/}"
mkdir -p "$DATA_ROOT/.download"
echo "data-retriever: downloading $src"
# copyto skips the transfer when an identical file is already there (resumed run)
rclone copyto --stats-one-line --stats 30s -v "$src" "$tarball"
# rclone reports success when the source does not exist ("nothing to transfer")
if [ ! -f "$tarball" ]; then
  echo "data-retriever: $src not found, nothing downloaded" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
echo "data-retriever: unpacking $tarball"
case "$tarball" in
  *.tar.gz|*.tgz) tar -xzf "$tarball" -C "$work" ;;
  *) tar -xf "$tarball" -C "$work" ;;
esac
# A tarball holding a single top-level folder is unwrapped, so the data is $dest either way.
entries=$(ls -A "$work")
if [ "$(printf '%s\n' "$entries" | wc -l)" -eq 1 ] && [ -n "$entries" ] && [ -d "$work/$entries" ] && [ ! -L "$work/$entries" ]; then
  mv "$work/$entries" "$dest"
  rmdir "$work"
else
  mv "$work" "$dest"
fi
rm -f "$tarball"
{{- else }}
src={{ include "tidb-lightning.shquote" $r.directory }}
echo "data-retriever: copying $src"
# copy skips files already transferred by an interrupted run
rclone copy --stats-one-line --stats 30s -v "$src" "$work"
if [ -z "$(ls -A "$work" 2>/dev/null)" ]; then
  echo "data-retriever: $src is missing or empty, nothing downloaded" >&2
  exit 1
fi
mv "$work" "$dest"
{{- end }}
echo "data-retriever: data ready in $dest"
{{- end -}}

{{/*
The tidb-lightning container. FAIL_FAST=true: exit with tidb-lightning's status.
FAIL_FAST=false: on failure keep the pod alive for `kubectl exec` + tidb-lightning-ctl.
*/}}
{{- define "tidb-lightning.startScript" -}}
{{- $tc := .Values.targetTidbCluster -}}
set -u
: "${DATA_ROOT:?DATA_ROOT must be set}"
data_dir="$DATA_ROOT"{{ with include "tidb-lightning.dataName" . }}/{{ include "tidb-lightning.shquote" . }}{{ end }}
hold() {
  echo "$(date -u '+[%Y/%m/%d %H:%M:%S %z]') $1"
  echo "failFast is false: keeping the pod alive for manual intervention. The mounted config"
  echo "points tidb-lightning-ctl at this run's checkpoint ($data_dir/tidb_lightning_checkpoint.pb"
  echo "unless config moved it); one command per call, e.g."
  echo "  kubectl exec -it <this pod> -- tidb-lightning-ctl --config=/etc/tidb-lightning/tidb-lightning.toml --checkpoint-dump=/tmp/cp"
  echo "  kubectl exec -it <this pod> -- tidb-lightning-ctl --config=/etc/tidb-lightning/tidb-lightning.toml --checkpoint-error-destroy=all"
{{- if $tc.secretName }}
  echo "(--checkpoint-error-destroy drops tables through [tidb] of that file, which holds no password:"
  echo " the password from the Secret reaches tidb-lightning only as a flag, and tidb-lightning-ctl has none)"
{{- end }}
  exec tail -f /dev/null
}
if [ ! -d "$data_dir" ] || [ -z "$(ls -A "$data_dir" 2>/dev/null)" ]; then
  if [ "${FAIL_FAST:-true}" = "true" ]; then
    echo "no data found in $data_dir" >&2
    exit 1
  fi
  hold "no data found in $data_dir"
fi
set -- \
  --config=/etc/tidb-lightning/tidb-lightning.toml \
  -d "$data_dir" \
  --backend={{ .Values.backend }} \
{{- if eq .Values.backend "local" }}
  --sorted-kv-dir={{ include "tidb-lightning.sortedKVDir" . }} \
{{- end }}
{{- if include "tidb-lightning.statusEnabled" . }}
  --status-addr=:{{ include "tidb-lightning.statusPort" . }} \
{{- end }}
  --pd-urls={{ include "tidb-lightning.pdAddr" . }} \
  --tidb-host={{ include "tidb-lightning.tidbHost" . }} \
  --tidb-port={{ int ($tc.port | default 4000) }} \
  --tidb-user={{ include "tidb-lightning.shquote" ($tc.user | default "root") }}
echo "starting: tidb-lightning $*"
if [ -n "${TIDB_PASSWORD:-}" ]; then
  set -- "$@" "--tidb-password=$TIDB_PASSWORD"
fi
if [ "${FAIL_FAST:-true}" = "true" ]; then
  exec tidb-lightning "$@"
fi
tidb-lightning "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  hold "tidb-lightning exited with status $rc"
fi
echo "tidb-lightning finished"
{{- end -}}

{{/* Common names and labels. */}}
{{- define "gpuscale.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "gpuscale.labels" -}}
app.kubernetes.io/part-of: gpuscale
app.kubernetes.io/managed-by: {{ .Values.managedBy | default .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gpuscale.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "gpuscale.exporterName" -}}{{ include "gpuscale.fullname" . }}-exporter{{- end -}}
{{- define "gpuscale.adapterName" -}}{{ include "gpuscale.fullname" . }}-adapter{{- end -}}

{{/* The series the GPU-utilization adapter rule reads. */}}
{{- define "gpuscale.gpuUtilSeries" -}}
{{- if eq .Values.exporter.mode "gpuscale" -}}DCGM_FI_DEV_GPU_UTIL{{- else -}}dcgm_fi_dev_gpu_util_relabelled{{- end -}}
{{- end -}}

{{/* Pod security shared by both workloads: non-root, read-only root, no privileges. */}}
{{- define "gpuscale.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "gpuscale.validate" -}}
{{- $modes := list "gpuscale" "nvidia" "gke-managed" -}}
{{- if not (has .Values.exporter.mode $modes) -}}
{{- fail (printf "exporter.mode: expected one of gpuscale, nvidia, gke-managed; found %q" .Values.exporter.mode) -}}
{{- end -}}
{{- with .Values.exporter.hostDriver -}}
{{- if and .hostPath (not (hasPrefix "/" .hostPath)) -}}
{{- fail (printf "exporter.hostDriver.hostPath: expected an absolute path; found %q" .hostPath) -}}
{{- end -}}
{{- if and .hostPath (not (hasPrefix "/" .mountPath)) -}}
{{- fail (printf "exporter.hostDriver.mountPath: expected an absolute path; found %q" .mountPath) -}}
{{- end -}}
{{- end -}}
{{- $tls := list "self-signed" "certManager" "secret" "insecure" -}}
{{- if not (has .Values.adapter.tls.mode $tls) -}}
{{- fail (printf "adapter.tls.mode: expected one of self-signed, certManager, secret, insecure; found %q" .Values.adapter.tls.mode) -}}
{{- end -}}
{{- $strategies := list "none" "gpu" "requests" "combined" "recommended" -}}
{{- if not (has .Values.hpa.strategy $strategies) -}}
{{- fail (printf "hpa.strategy: expected one of none, gpu, requests, combined, recommended; found %q" .Values.hpa.strategy) -}}
{{- end -}}
{{- end -}}

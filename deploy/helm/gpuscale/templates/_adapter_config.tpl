{{/* The adapter's rules file (prometheus-adapter format): the seed's two metrics, corrected,
and the waiting queue the recommended HPA reads. */}}
{{- define "gpuscale.adapterConfig" -}}
{{- $rules := .Values.adapter.rules -}}
{{- if not $rules -}}
{{- $podResources := dict "overrides" (dict "namespace" (dict "resource" "namespace") "pod" (dict "resource" "pod")) -}}
{{- $query := "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)" -}}
{{- $gpu := include "gpuscale.gpuUtilSeries" . -}}
{{- $rules = list
  (dict "seriesQuery" "vllm:num_requests_running{namespace!=\"\",pod!=\"\"}" "resources" $podResources
        "name" (dict "matches" "^vllm:num_requests_running$" "as" "vllm_num_requests_running")
        "metricsQuery" $query)
  (dict "seriesQuery" "vllm:num_requests_waiting{namespace!=\"\",pod!=\"\"}" "resources" $podResources
        "name" (dict "matches" "^vllm:num_requests_waiting$" "as" "vllm_num_requests_waiting")
        "metricsQuery" $query)
  (dict "seriesQuery" (printf "%s{namespace!=\"\",pod!=\"\"}" $gpu) "resources" $podResources
        "name" (dict "matches" (printf "^%s$" $gpu) "as" "gpu_utilization_percent")
        "metricsQuery" $query) -}}
{{- end -}}
{{- $all := concat $rules .Values.adapter.extraRules -}}
rules:
{{ toYaml $all }}
{{- with .Values.adapter.externalRules }}
externalRules:
{{ toYaml . }}
{{- end }}
{{- end -}}

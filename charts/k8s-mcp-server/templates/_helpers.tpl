{{- define "k8s-mcp-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "k8s-mcp-server.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "k8s-mcp-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k8s-mcp-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "k8s-mcp-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "k8s-mcp-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The label of the `helm test` pod, which the NetworkPolicy lets in. */}}
{{- define "k8s-mcp-server.testLabels" -}}
app.kubernetes.io/name: {{ include "k8s-mcp-server.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "k8s-mcp-server.keysSecret" -}}
{{- default (printf "%s-keys" (include "k8s-mcp-server.fullname" .)) .Values.apiKeys.existingSecret }}
{{- end }}

{{/* The Host header values the server accepts: the Service's names, loopback (the probes), the pod's IP
(Prometheus scrapes by address) and the operator's own. */}}
{{- define "k8s-mcp-server.allowedHosts" -}}
{{- $name := include "k8s-mcp-server.fullname" . }}
{{- $port := .Values.service.port | int }}
{{- $hosts := list }}
{{- range $host := list $name (printf "%s.%s" $name .Release.Namespace) (printf "%s.%s.svc" $name .Release.Namespace) (printf "%s.%s.svc.cluster.local" $name .Release.Namespace) "localhost" "127.0.0.1" "$(POD_IP)" }}
{{- $hosts = append $hosts (printf "%s:%d" $host $port) }}
{{- end }}
{{- join "," (concat $hosts .Values.allowedHosts) }}
{{- end }}

{{/* policy/v1 and autoscaling/v2 where the cluster has them (v1.21, v1.23), the beta APIs before. */}}
{{- define "k8s-mcp-server.pdbApiVersion" -}}
{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}

{{- define "k8s-mcp-server.hpaApiVersion" -}}
{{- if semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version }}autoscaling/v2{{ else }}autoscaling/v2beta2{{ end }}
{{- end }}

{{/* The restricted Pod Security Standard, for every container the chart runs. */}}
{{- define "k8s-mcp-server.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.image.uid }}
runAsGroup: {{ .Values.image.uid }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "k8s-mcp-server.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.image.uid }}
runAsGroup: {{ .Values.image.uid }}
fsGroup: {{ .Values.image.uid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "k8s-mcp-server.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "privateguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of every object: the release name, with the chart name appended
unless the release name already contains it ("privateguard" for a release called
privateguard). It also names the two cluster-scoped webhook configurations.
*/}}
{{- define "privateguard.fullname" -}}
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

{{- define "privateguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "privateguard.labels" -}}
helm.sh/chart: {{ include "privateguard.chart" . }}
{{ include "privateguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels selecting the webhook's pods (Deployment, Service, PodDisruptionBudget, topology spread).
*/}}
{{- define "privateguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "privateguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "privateguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "privateguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "privateguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "privateguard.policyConfigMapName" -}}
{{- printf "%s-policy" (include "privateguard.fullname" .) }}
{{- end }}

{{/*
The Secret holding tls.crt and tls.key for the serving certificate.
*/}}
{{- define "privateguard.tlsSecretName" -}}
{{- if .Values.certManager.enabled }}
{{- printf "%s-tls" (include "privateguard.fullname" .) }}
{{- else }}
{{- required "tls.secretName is required when certManager.enabled is false" .Values.tls.secretName }}
{{- end }}
{{- end }}

{{- define "privateguard.servingCertificateName" -}}
{{- printf "%s-serving" (include "privateguard.fullname" .) }}
{{- end }}

{{/*
The clientConfig and the TLS trust of a webhook: the Service, the path given as .path,
and the caBundle when cert-manager does not inject it.
*/}}
{{- define "privateguard.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "privateguard.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
  {{- if not .root.Values.certManager.enabled }}
  caBundle: {{ required "tls.caBundle is required when certManager.enabled is false" .root.Values.tls.caBundle }}
  {{- end }}
{{- end }}

{{/*
The value of cert-manager.io/inject-ca-from on both webhook configurations: the serving
Certificate, whose secret's ca.crt is the chart's CA.
*/}}
{{- define "privateguard.injectCAFrom" -}}
{{- printf "%s/%s" .Release.Namespace (include "privateguard.servingCertificateName" .) }}
{{- end }}

{{/*
Namespaces the main webhook entry is never sent: kube-node-lease, the release namespace
(the webhook must never block its own pods from starting), the user's list, and
kube-system, which has its own entry (privateguard.kubeSystemSelector).
*/}}
{{- define "privateguard.namespaceSelector" -}}
{{- $excluded := concat (list "kube-system" "kube-node-lease" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range $excluded }}
        - {{ . | quote }}
        {{- end }}
{{- end }}

{{/*
Whether kube-system gets its own webhook entries: webhook.kubeSystem.enabled, unless the
release itself runs there (then kube-system stays excluded like any release namespace) or
the user excludes it.
*/}}
{{- define "privateguard.kubeSystemCovered" -}}
{{- if and .Values.webhook.kubeSystem.enabled (ne .Release.Namespace "kube-system") (not (has "kube-system" .Values.webhook.excludeNamespaces)) -}}
true
{{- end -}}
{{- end }}

{{/*
The kube-system entries' selector: kube-system alone. The add-ons the AWS guide names
(Cluster Autoscaler, AWS Load Balancer Controller, EFS/EBS CSI, VPC CNI) run there.
*/}}
{{- define "privateguard.kubeSystemSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: In
      values:
        - "kube-system"
{{- end }}

{{/*
Mirror pods (static pods the kubelet reflects into the API) are skipped. The expression is
true for every object that is not a pod, with or without annotations.
*/}}
{{- define "privateguard.matchConditions" -}}
matchConditions:
  - name: skip-mirror-pods
    expression: >-
      request.resource.resource != 'pods' ||
      !has(object.metadata.annotations) ||
      !('kubernetes.io/config.mirror' in object.metadata.annotations)
{{- end }}

{{/*
GOMEMLIMIT: 60% of the container's memory limit, so the Go runtime collects well before
the limit and the server's request limits keep it under 70% (see values.yaml).
*/}}
{{- define "privateguard.goMemLimit" -}}
{{- $limit := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Gi$" $limit -}}
{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $limit -}}
{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- else -}}
{{- fail (printf "resources.limits.memory %q: give a whole number of Mi or Gi (GOMEMLIMIT is set to 60%% of it)" $limit) -}}
{{- end -}}
{{- printf "%dMiB" (div (mul $mib 60) 100) -}}
{{- end -}}

{{/*
"true" when the background audit runs: it needs the Kubernetes connection that
server.serviceAccounts=false turns off.
*/}}
{{- define "privateguard.backgroundAudit" -}}
{{- if and .Values.backgroundAudit.enabled .Values.server.serviceAccounts }}true{{ end }}
{{- end }}

{{/*
A duration of the form 30s, 10m or 1h (the schema allows no other), in seconds.
*/}}
{{- define "privateguard.seconds" -}}
{{- $n := regexFind "^[0-9]+" . | int }}
{{- $unit := regexFind "[smh]$" . }}
{{- if eq $unit "h" }}{{ mul $n 3600 }}{{ else if eq $unit "m" }}{{ mul $n 60 }}{{ else }}{{ $n }}{{ end }}
{{- end }}

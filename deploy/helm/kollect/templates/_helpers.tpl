{{/* Names and labels shared by every template. */}}
{{- define "kollect.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kollect.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains (include "kollect.name" .) .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "kollect.name" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The watcher's leader election Lease (KOLLECT_LEADER_LEASE_NAME; the Role grants only it). */}}
{{- define "kollect.leaseName" -}}
{{- printf "%s-watcher" (include "kollect.fullname" .) -}}
{{- end -}}

{{- define "kollect.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "kollect.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kollect
{{- end -}}

{{/* Selector labels of one component: pass (list $ "operator"). */}}
{{- define "kollect.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "kollect.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Every pod running the operator process (watcher, worker or both), and no other pod. */}}
{{- define "kollect.operatorPodSelector" -}}
app.kubernetes.io/name: {{ include "kollect.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
kollect.dev/operator: "true"
{{- end -}}

{{- define "kollect.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kollect.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kollect.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* host:port of the Temporal frontend the operator connects to. */}}
{{- define "kollect.temporalAddress" -}}
{{- if eq .Values.temporal.mode "embedded" -}}
{{- printf "%s-temporal.%s.svc:7233" (include "kollect.fullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "temporal.external.address is required when temporal.mode is external" .Values.temporal.external.address -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding KOLLECT_STORE_URL. */}}
{{- define "kollect.storeSecret" -}}
{{- if and (eq .Values.store.mode "external") .Values.store.external.existingSecret.name -}}
{{- .Values.store.external.existingSecret.name -}}
{{- else -}}
{{- printf "%s-store" (include "kollect.fullname" .) -}}
{{- end -}}
{{- end -}}
{{- define "kollect.storeSecretKey" -}}
{{- if and (eq .Values.store.mode "external") .Values.store.external.existingSecret.name -}}
{{- .Values.store.external.existingSecret.key -}}
{{- else -}}
url
{{- end -}}
{{- end -}}

{{/* Temporal TLS for external mode: whether any setting asks for it. */}}
{{- define "kollect.temporalTls" -}}
{{- $t := .Values.temporal.external -}}
{{- if and (eq .Values.temporal.mode "external") (or $t.tls.enabled $t.tls.serverName $t.tls.caSecret.name $t.tls.clientCertSecret.name $t.apiKeySecret.name) -}}
true
{{- end -}}
{{- end -}}

{{/*
The operator's pod template: pass (dict "root" $ "component" "operator" "components" "all" "resources" ...).
Both Deployments use it, so a worker-only replica differs only in what it runs.
*/}}
{{- define "kollect.operatorPod" -}}
{{- $ := .root -}}
{{- $v := $.Values -}}
{{- $ext := $v.temporal.external -}}
metadata:
  labels:
    {{- include "kollect.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    kollect.dev/operator: "true"
    {{- with $v.operator.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Restart on a changed store URL (a rotated password, an external URL).
    checksum/store: {{ include (print $.Template.BasePath "/store-secret.yaml") $ | sha256sum }}
    {{- with $v.operator.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kollect.serviceAccountName" $ }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.operator.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: 60
  containers:
    - name: kollect
      image: {{ include "kollect.image" $ }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      # The image's entrypoint, spelled out so the chart's contract test runs exactly this.
      command: ["node", "/app/dist/worker/operator.js"]
      env:
        - { name: KOLLECT_COMPONENTS, value: {{ .components | quote }} }
        - { name: TEMPORAL_ADDRESS, value: {{ include "kollect.temporalAddress" $ | quote }} }
        - { name: TEMPORAL_NAMESPACE, value: {{ $v.temporal.namespace | quote }} }
        {{- if and (eq $v.temporal.mode "embedded") (eq $v.temporal.embedded.kind "server") }}
        # The bundled server starts with no namespace: the operator registers it.
        - { name: KOLLECT_REGISTER_NAMESPACE, value: "true" }
        {{- end }}
        - { name: KOLLECT_TASK_QUEUE, value: {{ $v.operator.taskQueue | quote }} }
        - { name: KOLLECT_HTTP_PORT, value: {{ $v.service.port | quote }} }
        - { name: KOLLECT_HTTP_HOST, value: "0.0.0.0" }
        - { name: KOLLECT_MAX_RUN_AGE, value: {{ $v.operator.maxRunAge | quote }} }
        - { name: KOLLECT_GC_INTERVAL, value: {{ $v.operator.gcInterval | quote }} }
        - { name: KOLLECT_EXTRACT_MAX_ROW_BYTES, value: {{ $v.operator.maxRowBytes | int64 | toString | quote }} }
        {{- with $v.operator.maxExportBytes }}
        - { name: KOLLECT_MAX_EXPORT_BYTES, value: {{ . | int64 | toString | quote }} }
        {{- end }}
        {{- if and $v.operator.leaderElection (ne .components "worker") }}
        # Only the holder of this Lease runs the watcher (docs/operations.md#high-availability).
        - { name: KOLLECT_LEADER_ELECTION, value: "true" }
        - { name: KOLLECT_LEADER_LEASE_NAME, value: {{ include "kollect.leaseName" $ | quote }} }
        - { name: KOLLECT_LEADER_LEASE_NAMESPACE, value: {{ $.Release.Namespace | quote }} }
        - name: POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
        {{- end }}
        - name: KOLLECT_STORE_URL
          valueFrom: { secretKeyRef: { name: {{ include "kollect.storeSecret" $ }}, key: {{ include "kollect.storeSecretKey" $ }} } }
        {{- with $v.operator.clusterName }}
        - { name: KOLLECT_CLUSTER_NAME, value: {{ . | quote }} }
        {{- end }}
        {{- with $v.operator.watchNamespaces }}
        - { name: KOLLECT_WATCH_NAMESPACES, value: {{ join "," . | quote }} }
        {{- end }}
        - { name: KOLLECT_TENANT_MODE, value: {{ $v.operator.tenantMode | toString | quote }} }
        {{- with $v.endpoints.allow }}
        - { name: KOLLECT_ENDPOINT_ALLOW, value: {{ join "," . | quote }} }
        {{- end }}
        {{- with $v.endpoints.clusterCidrs }}
        - { name: KOLLECT_CLUSTER_CIDRS, value: {{ join "," . | quote }} }
        {{- end }}
        {{- if include "kollect.temporalTls" $ }}
        - { name: TEMPORAL_TLS, value: "true" }
        {{- with $ext.tls.serverName }}
        - { name: TEMPORAL_TLS_SERVER_NAME, value: {{ . | quote }} }
        {{- end }}
        {{- if $ext.tls.caSecret.name }}
        - { name: TEMPORAL_TLS_CA_FILE, value: "/etc/kollect/temporal-ca/{{ $ext.tls.caSecret.key }}" }
        {{- end }}
        {{- if $ext.tls.clientCertSecret.name }}
        - { name: TEMPORAL_TLS_CERT_FILE, value: /etc/kollect/temporal-client/tls.crt }
        - { name: TEMPORAL_TLS_KEY_FILE, value: /etc/kollect/temporal-client/tls.key }
        {{- end }}
        {{- if $ext.apiKeySecret.name }}
        - { name: TEMPORAL_API_KEY_FILE, value: "/etc/kollect/temporal-api-key/{{ $ext.apiKeySecret.key }}" }
        {{- end }}
        {{- end }}
        {{- if $v.webhook.enabled }}
        # The validating admission webhook (docs/admission.md); the certificate is re-read when it rotates.
        - { name: KOLLECT_WEBHOOK_PORT, value: {{ $v.webhook.port | quote }} }
        - { name: KOLLECT_WEBHOOK_CERT_DIR, value: /etc/kollect/webhook }
        {{- end }}
        {{- if $v.codec.enabled }}
        # The Temporal UI's codec endpoint (docs/temporal-ui.md).
        - { name: KOLLECT_CODEC_PORT, value: {{ $v.codec.port | quote }} }
        - { name: KOLLECT_CODEC_CORS_ORIGINS, value: {{ include "kollect.codecCorsOrigins" $ | quote }} }
        - { name: KOLLECT_CODEC_MAX_BODY_BYTES, value: {{ $v.codec.maxBodyBytes | int64 | quote }} }
        {{- if $v.codec.tokenSecret.name }}
        - { name: KOLLECT_CODEC_TOKEN_FILE, value: "/etc/kollect/codec-token/{{ $v.codec.tokenSecret.key }}" }
        {{- end }}
        {{- end }}
        {{- with $v.operator.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - { name: http, containerPort: {{ $v.service.port }}, protocol: TCP }
        {{- if $v.webhook.enabled }}
        - { name: webhook, containerPort: {{ $v.webhook.port }}, protocol: TCP }
        {{- end }}
        {{- if $v.codec.enabled }}
        - { name: codec, containerPort: {{ $v.codec.port }}, protocol: TCP }
        {{- end }}
      startupProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 5
        failureThreshold: 60
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 20
        failureThreshold: 3
      readinessProbe:
        httpGet: { path: /readyz, port: http }
        periodSeconds: 10
        failureThreshold: 3
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        # git sinks clone into the temp dir; everything else on the root filesystem is read-only.
        - { name: tmp, mountPath: /tmp }
        {{- if and (include "kollect.temporalTls" $) $ext.tls.caSecret.name }}
        - { name: temporal-ca, mountPath: /etc/kollect/temporal-ca, readOnly: true }
        {{- end }}
        {{- if and (include "kollect.temporalTls" $) $ext.tls.clientCertSecret.name }}
        - { name: temporal-client, mountPath: /etc/kollect/temporal-client, readOnly: true }
        {{- end }}
        {{- if and (include "kollect.temporalTls" $) $ext.apiKeySecret.name }}
        - { name: temporal-api-key, mountPath: /etc/kollect/temporal-api-key, readOnly: true }
        {{- end }}
        {{- if $v.webhook.enabled }}
        - { name: webhook-tls, mountPath: /etc/kollect/webhook, readOnly: true }
        {{- end }}
        {{- if and $v.codec.enabled $v.codec.tokenSecret.name }}
        - { name: codec-token, mountPath: /etc/kollect/codec-token, readOnly: true }
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: { sizeLimit: 2Gi }
    {{- if and (include "kollect.temporalTls" $) $ext.tls.caSecret.name }}
    - name: temporal-ca
      secret: { secretName: {{ $ext.tls.caSecret.name }} }
    {{- end }}
    {{- if and (include "kollect.temporalTls" $) $ext.tls.clientCertSecret.name }}
    - name: temporal-client
      secret: { secretName: {{ $ext.tls.clientCertSecret.name }} }
    {{- end }}
    {{- if and (include "kollect.temporalTls" $) $ext.apiKeySecret.name }}
    - name: temporal-api-key
      secret: { secretName: {{ $ext.apiKeySecret.name }} }
    {{- end }}
    {{- if $v.webhook.enabled }}
    - name: webhook-tls
      secret: { secretName: {{ include "kollect.webhookSecret" $ }} }
    {{- end }}
    {{- if and $v.codec.enabled $v.codec.tokenSecret.name }}
    - name: codec-token
      secret: { secretName: {{ $v.codec.tokenSecret.name }} }
    {{- end }}
  {{- with $v.operator.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.operator.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.operator.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The webhook's Service and the Secret with its serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "kollect.webhookService" -}}
{{ include "kollect.fullname" . }}-webhook
{{- end }}
{{- define "kollect.webhookSecret" -}}
{{ include "kollect.fullname" . }}-webhook-tls
{{- end }}
{{/* The codec URL the Temporal UI calls from the browser (docs/temporal-ui.md). */}}
{{- define "kollect.codecEndpoint" -}}
{{- .Values.codec.endpoint | default (printf "http://localhost:%v/codec" .Values.codec.port) -}}
{{- end -}}

{{/* The browser origins the codec answers: the UI's (default: the port-forwarded bundled UI). */}}
{{- define "kollect.codecCorsOrigins" -}}
{{- join "," (.Values.codec.corsOrigins | default (list "http://localhost:8233" "http://127.0.0.1:8233")) -}}
{{- end -}}

{{/* rapport.name: the chart name, or nameOverride, truncated to 63 chars. */}}
{{- define "rapport.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* rapport.fullname: <release>-<name> (or fullnameOverride), DNS-label safe. */}}
{{- define "rapport.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* rapport.namespace: the release namespace, or namespaceOverride. */}}
{{- define "rapport.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* rapport.chart: chart name and version for the helm.sh/chart label. */}}
{{- define "rapport.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* rapport.selectorLabels: the immutable labels selectors match on. */}}
{{- define "rapport.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rapport.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* rapport.labels: standard app.kubernetes.io labels plus commonLabels. */}}
{{- define "rapport.labels" -}}
helm.sh/chart: {{ include "rapport.chart" . }}
{{ include "rapport.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rapport
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* rapport.annotations: commonAnnotations as a block (may be empty). */}}
{{- define "rapport.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* rapport.serviceAccountName: the ServiceAccount the pods run as. */}}
{{- define "rapport.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rapport.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* rapport.secretName: the Secret with the DB password and admin key. */}}
{{- define "rapport.secretName" -}}
{{- default (include "rapport.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/* rapport.image: registry/repository:tag or @digest (tag defaults to appVersion). */}}
{{- define "rapport.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* rapport.config: the rapportd YAML config file (no secrets in it). */}}
{{- define "rapport.config" -}}
{{- $db := .Values.externalDatabase -}}
{{- $paths := list -}}
{{- range $name, $p := .Values.plugins.firstParty -}}
{{- if $p.enabled -}}
{{- $paths = append $paths (printf "/usr/lib/rapport/plugins/%s" $p.library) -}}
{{- end -}}
{{- end -}}
{{- $cfg := dict
  "listen" (printf "0.0.0.0:%d" (int .Values.server.grpcPort))
  "metrics_listen" (printf "0.0.0.0:%d" (int .Values.server.metricsPort))
  "threads" (int .Values.server.threads)
  "shutdown_grace" .Values.server.shutdownGrace
  "max_connection_age" .Values.server.maxConnectionAge
  "max_message_bytes" (int64 .Values.server.maxMessageBytes)
  "log_level" .Values.server.logLevel
  "default_phone_region" .Values.server.defaultPhoneRegion
  "insecure" (and (not .Values.tls.enabled) .Values.server.insecure)
  "migrate_on_start" (not .Values.migration.enabled)
  "outbox" (dict "lease" .Values.server.outboxLease)
  "db" (dict "host" $db.host "port" (int $db.port) "user" $db.user "name" $db.database "connect_timeout" $db.connectTimeout "io_timeout" $db.ioTimeout)
  "plugins" (dict "dir" "/opt/rapport/plugins" "paths" $paths "required" .Values.plugins.required "config" .Values.plugins.config)
-}}
{{- if gt (int $db.poolSize) 0 -}}
{{- $_ := set $cfg.db "pool_size" (int $db.poolSize) -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- $tls := dict "cert" "/etc/rapport/tls/tls.crt" "key" "/etc/rapport/tls/tls.key" -}}
{{- if .Values.tls.clientAuth -}}
{{- $_ := set $tls "client_ca" "/etc/rapport/tls/ca.crt" -}}
{{- end -}}
{{- $_ := set $cfg "tls" $tls -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg .Values.server.extraConfig) -}}
{{- end -}}

{{/* rapport.secretEnv: DB password and bootstrap admin key from the Secret. */}}
{{- define "rapport.secretEnv" -}}
- name: RAPPORT_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.secretName" . }}
      key: {{ .Values.auth.existingSecretPasswordKey }}
- name: RAPPORT_BOOTSTRAP_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.secretName" . }}
      key: {{ .Values.auth.existingSecretAdminKeyKey }}
      optional: true
{{- end -}}

{{/* rapport.validateValues: checks values across keys; fails once with every message. */}}
{{- define "rapport.validateValues" -}}
{{- $msgs := list -}}
{{- if not .Values.externalDatabase.host -}}
{{- $msgs = append $msgs "externalDatabase.host: set the MySQL host (rapport needs an external MySQL/MariaDB)" -}}
{{- end -}}
{{- if and (not .Values.auth.existingSecret) (not .Values.externalDatabase.password) -}}
{{- $msgs = append $msgs "externalDatabase.password: set it, or auth.existingSecret naming a Secret that holds it" -}}
{{- end -}}
{{- if .Values.externalDatabase.tls.enabled -}}
{{- $msgs = append $msgs "externalDatabase.tls.enabled: TLS to the database is not implemented by rapportd yet; use a private network, a mesh or a TLS-terminating proxy" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- $msgs = append $msgs "tls.existingSecret: name the kubernetes.io/tls Secret to serve with (tls.enabled is true)" -}}
{{- end -}}
{{- if and (not .Values.tls.enabled) (not .Values.server.insecure) -}}
{{- $msgs = append $msgs "tls.enabled: rapportd refuses plaintext; enable TLS, or set server.insecure=true when a mesh or the network encrypts traffic" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth (not .Values.tls.enabled) -}}
{{- $msgs = append $msgs "tls.clientAuth: needs tls.enabled" -}}
{{- end -}}
{{- if eq (toString .Values.image.tag) "latest" -}}
{{- $msgs = append $msgs "image.tag: pin a version, not \"latest\"" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $msgs = append $msgs "autoscaling.minReplicas: must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- $grace := .Values.server.shutdownGrace | toString -}}
{{- if regexMatch "^[0-9]+s$" $grace -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int (trimSuffix "s" $grace)) (int .Values.preStopSleepSeconds)) -}}
{{- $msgs = append $msgs (printf "terminationGracePeriodSeconds: must exceed server.shutdownGrace (%s) plus preStopSleepSeconds, or pods are killed mid-drain" $grace) -}}
{{- end -}}
{{- end -}}
{{- if $msgs -}}
{{- fail (printf "\n\nVALUES VALIDATION:\n  - %s" (join "\n  - " $msgs)) -}}
{{- end -}}
{{- end -}}

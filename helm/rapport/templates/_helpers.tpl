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
  "auth" (dict "key_refresh" .Values.auth.keyRefresh)
  "limits" (dict "rate_per_key" (int64 .Values.limits.ratePerKey) "rate_burst" (int64 .Values.limits.rateBurst) "max_deadline" .Values.limits.maxDeadline "max_concurrent_streams" (int64 .Values.limits.maxConcurrentStreams))
  "db" (dict "host" $db.host "port" (int $db.port) "user" $db.user "name" $db.database "connect_timeout" $db.connectTimeout "io_timeout" $db.ioTimeout)
  "plugins" (dict "dir" "/opt/rapport/plugins" "paths" $paths "required" .Values.plugins.required "config" .Values.plugins.config)
-}}
{{- if gt (int $db.poolSize) 0 -}}
{{- $_ := set $cfg.db "pool_size" (int $db.poolSize) -}}
{{- end -}}
{{- /* rapportd reads a list setting from YAML as one comma-separated value. */ -}}
{{- with .Values.auth.clientCertRoles -}}
{{- $_ := set $cfg.auth "client_cert_roles" (join "," .) -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- $tls := dict "cert" "/etc/rapport/tls/tls.crt" "key" "/etc/rapport/tls/tls.key" "reload_interval" .Values.tls.reloadInterval -}}
{{- if .Values.tls.clientAuth -}}
{{- $_ := set $tls "client_ca" "/etc/rapport/tls/ca.crt" -}}
{{- $_ := set $tls "client_auth" .Values.tls.clientAuthMode -}}
{{- end -}}
{{- $_ := set $cfg "tls" $tls -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg .Values.server.extraConfig) -}}
{{- end -}}

{{/*
rapport.bootstrapKeyMode: how the bootstrap admin key reaches rapportd.
"file": the Secret surely holds it (the chart's Secret with
auth.bootstrapAdminKey, or auth.existingSecretHasAdminKey), so it is mounted
and RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE names it. "env": auth.existingSecret may
or may not hold it; rapportd refuses to start when the file setting names a
missing file, so it comes as an optional environment variable instead. "":
there is none.
*/}}
{{- define "rapport.bootstrapKeyMode" -}}
{{- if .Values.auth.existingSecret -}}
{{- ternary "file" "env" (.Values.auth.existingSecretHasAdminKey | default false) -}}
{{- else if .Values.auth.bootstrapAdminKey -}}
file
{{- end -}}
{{- end -}}

{{/* rapport.bootstrapKeyDir: where the bootstrap admin key file is mounted. */}}
{{- define "rapport.bootstrapKeyDir" -}}
/etc/rapport/secrets
{{- end -}}

{{/* rapport.secretEnv: DB password and bootstrap admin key from the Secret. */}}
{{- define "rapport.secretEnv" -}}
{{- $mode := include "rapport.bootstrapKeyMode" . -}}
- name: RAPPORT_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.secretName" . }}
      key: {{ .Values.auth.existingSecretPasswordKey }}
{{- if eq $mode "file" }}
- name: RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE
  value: {{ include "rapport.bootstrapKeyDir" . }}/bootstrap-admin-key
{{- else if eq $mode "env" }}
- name: RAPPORT_BOOTSTRAP_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.secretName" . }}
      key: {{ .Values.auth.existingSecretAdminKeyKey }}
      optional: true
{{- end }}
{{- end -}}

{{/* rapport.durationMs: a duration such as 500ms, 2s, 5m or 1h in milliseconds (call only on matching values). */}}
{{- define "rapport.durationMs" -}}
{{- $d := toString . -}}
{{- $n := int64 (regexReplaceAll "^([0-9]+)(ms|s|m|h)$" $d "${1}") -}}
{{- $unit := regexReplaceAll "^[0-9]+(ms|s|m|h)$" $d "${1}" -}}
{{- mul $n (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit) -}}
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
{{- if not (has (toString .Values.tls.clientAuthMode) (list "require" "optional")) -}}
{{- $msgs = append $msgs (printf "tls.clientAuthMode: %q is not \"require\" or \"optional\"" (toString .Values.tls.clientAuthMode)) -}}
{{- end -}}
{{- if and .Values.auth.clientCertRoles (not (and .Values.tls.enabled .Values.tls.clientAuth)) -}}
{{- $msgs = append $msgs "auth.clientCertRoles: needs tls.enabled and tls.clientAuth (only verified client certificates map to roles)" -}}
{{- end -}}
{{- range .Values.auth.clientCertRoles -}}
{{- if not (regexMatch "^[^,=]+=[^,=]+$" (toString .)) -}}
{{- $msgs = append $msgs (printf "auth.clientCertRoles: %q is not identity=ROLE (no commas)" (toString .)) -}}
{{- end -}}
{{- end -}}
{{- $key := .Values.auth.bootstrapAdminKey | default "" | toString -}}
{{- if and $key (lt (len $key) 32) -}}
{{- $msgs = append $msgs (printf "auth.bootstrapAdminKey: is %d characters; rapportd requires at least 32 (generate one with `openssl rand -hex 32`)" (len $key)) -}}
{{- end -}}
{{- $durations := list
  (dict "name" "tls.reloadInterval" "value" .Values.tls.reloadInterval "minMs" 1000 "min" "1s")
  (dict "name" "auth.keyRefresh" "value" .Values.auth.keyRefresh "minMs" 100 "min" "100ms")
  (dict "name" "limits.maxDeadline" "value" .Values.limits.maxDeadline "minMs" 1000 "min" "1s")
-}}
{{- range $durations -}}
{{- $v := toString .value -}}
{{- if not (regexMatch "^[0-9]+(ms|s|m|h)$" $v) -}}
{{- $msgs = append $msgs (printf "%s: %q is not a duration such as 500ms, 2s, 5m or 1h" .name $v) -}}
{{- else if lt (int64 (include "rapport.durationMs" $v)) (int64 .minMs) -}}
{{- $msgs = append $msgs (printf "%s: %s is shorter than %s, which rapportd refuses" .name $v .min) -}}
{{- end -}}
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

{{/* Names: <release>-flexsim (or the release name when it already contains "flexsim"), 63 chars at most. */}}
{{- define "flexsim.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flexsim.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "aggregator"). */}}
{{- define "flexsim.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "flexsim.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "flexsim.rpcUrl" -}}
{{- if eq .Values.chain.mode "anvil" -}}
http://{{ include "flexsim.fullname" . }}-chain:8545
{{- else if eq .Values.chain.mode "external" -}}
{{- required "chain.rpcUrl is required with chain.mode external (e.g. https://volta-rpc.energyweb.org)" .Values.chain.rpcUrl -}}
{{- else -}}
{{- fail "chain.mode must be anvil or external" -}}
{{- end -}}
{{- end -}}

{{- define "flexsim.aggregatorUrl" -}}
http://{{ include "flexsim.fullname" . }}-aggregator:{{ .Values.aggregator.service.port }}
{{- end -}}

{{/* Where the aggregator pod's sidecar serves run.env and deployment/manifest.json. */}}
{{- define "flexsim.filesUrl" -}}
http://{{ include "flexsim.fullname" . }}-aggregator:8080
{{- end -}}

{{- define "flexsim.keysSecret" -}}
{{- .Values.keys.existingSecret | default (printf "%s-keys" (include "flexsim.fullname" .)) -}}
{{- end -}}

{{- define "flexsim.credentialsSecret" -}}
{{- .Values.credentials.existingSecret | default (printf "%s-credentials" (include "flexsim.fullname" .)) -}}
{{- end -}}

{{- define "flexsim.consoleSecret" -}}
{{- .Values.console.existingSecret | default (printf "%s-console" (include "flexsim.fullname" .)) -}}
{{- end -}}

{{/* The database URL as an env entry (AGGREGATOR_DATABASE_URL), after FLEXSIM_POSTGRES_PASSWORD. */}}
{{- define "flexsim.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: FLEXSIM_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "flexsim.fullname" . }}-credentials-db
      key: postgres-password
- name: AGGREGATOR_DATABASE_URL
  value: postgresql://flexsim:$(FLEXSIM_POSTGRES_PASSWORD)@{{ include "flexsim.fullname" . }}-postgresql:5432/flexsim
{{- else if .Values.database.existingSecret }}
- name: AGGREGATOR_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: database-url
{{- else }}
- name: AGGREGATOR_DATABASE_URL
  value: {{ required "postgresql.enabled is false: set database.url (or database.existingSecret) to a database the aggregator and the report Job both reach" .Values.database.url | quote }}
{{- end }}
{{- end -}}

{{/* Refuses a credential (a *_TOKEN or *_KEY setting) in a settings map: those come from Secrets. */}}
{{- define "flexsim.noCredential" -}}
{{- if regexMatch "_(TOKEN|KEY)$" . -}}
{{- fail (printf "%s is a credential: the chart gives it from a Secret (keys.*, credentials.*, console.token or their existingSecret), never as a plain setting" .) -}}
{{- end -}}
{{- end -}}

{{/* env entries of a settings map (NAME: value), sorted; never a credential. */}}
{{- define "flexsim.settingsEnv" -}}
{{- range $name, $value := . }}
{{- include "flexsim.noCredential" $name }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* An init container that waits for the aggregator and copies run.env and the manifest into /shared. */}}
{{- define "flexsim.fetchShared" -}}
- name: fetch-shared
  image: {{ include "flexsim.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - flexsim-wait
    - --timeout
    - "1800"
    - {{ include "flexsim.aggregatorUrl" . }}/health
    - --fetch
    - {{ include "flexsim.filesUrl" . }}/run.env
    - /shared/run.env
    - --fetch
    - {{ include "flexsim.filesUrl" . }}/deployment/manifest.json
    - /shared/deployment/manifest.json
  volumeMounts:
    - name: shared
      mountPath: /shared
{{- end -}}

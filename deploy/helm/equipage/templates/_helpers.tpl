{{/* Names and labels every object of the chart shares. */}}
{{- define "equipage.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "equipage.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "equipage.labels" -}}
{{ include "equipage.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The command of a pod; its argument: "gateway" or "worker". A farm's folder is on the
     shared volume: its crews' configs and files are written at runtime, by any pod. */}}
{{- define "equipage.args" -}}
{{- if and (eq .root.Values.mode "farm") (eq .part "gateway") -}}
["farm", "up", "--farm", "/srv/equipage/farm", "--no-workers"]
{{- else if eq .root.Values.mode "farm" -}}
["farm", "up", "--farm", "/srv/equipage/farm", "--no-gateway"]
{{- else if eq .part "gateway" -}}
["up", "--no-console", "--no-workers"]
{{- else -}}
["up", "--no-console", "--no-gateway"]
{{- end -}}
{{- end -}}

{{/* What every container of a pod gets: image, environment, secrets, mounts. */}}
{{- define "equipage.common" -}}
{{- $v := .root.Values -}}
image: {{ printf "%s:%s" $v.image.repository $v.image.tag | quote }}
imagePullPolicy: {{ $v.image.pullPolicy }}
env:
  - name: EQUIPAGE_CONFIG
    value: /etc/equipage/company.yaml
  - name: EQUIPAGE_HOME
    value: /srv/equipage/.equipage
  - name: EQUIPAGE_HEALTH_PORT
    value: {{ $v.health.port | quote }}
  {{- range $name, $value := $v.env }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
envFrom:
  - secretRef:
      name: {{ required "secrets.shared: name the Secret holding REDIS_URL and EQUIPAGE_AUDIT_KEY" $v.secrets.shared }}
  {{- if and (eq .part "gateway") $v.secrets.gateway }}
  - secretRef:
      name: {{ $v.secrets.gateway }}
  {{- end }}
securityContext:
  {{- toYaml $v.securityContext | nindent 2 }}
volumeMounts:
  - name: config
    mountPath: /etc/equipage
    readOnly: true
  - name: home
    mountPath: /srv/equipage
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* The pod spec both Deployments share; its argument: root and part. */}}
{{- define "equipage.pod" -}}
{{- $v := .root.Values -}}
{{- $part := index $v .part -}}
{{- if and (eq $v.mode "farm") (not $v.home.persistentVolumeClaim) -}}
{{- fail "mode farm: name a ReadWriteMany PersistentVolumeClaim in home.persistentVolumeClaim; the farm's crews (their configs and files) live there, written by any pod" -}}
{{- end -}}
terminationGracePeriodSeconds: {{ $part.terminationGracePeriodSeconds }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- if eq $v.mode "farm" }}
initContainers:
  # The farm's folder on the shared volume, seeded with farm.yaml and the templates of the
  # ConfigMap at each start (they replace the folder's copies); its crews stay.
  - name: seed
    args: {{ include "equipage.seed" $v | trim }}
    {{- include "equipage.common" . | nindent 4 }}
{{- end }}
containers:
  - name: {{ .part }}
    args: {{ include "equipage.args" . }}
    {{- include "equipage.common" . | nindent 4 }}
    ports:
      - name: health
        containerPort: {{ $v.health.port }}
      {{- if eq .part "gateway" }}
      - name: web
        containerPort: {{ $v.gateway.webPort }}
      {{- end }}
    startupProbe:
      httpGet: {path: /healthz, port: health}
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: {path: /healthz, port: health}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: health}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    resources:
      {{- toYaml $part.resources | nindent 6 }}
volumes:
  - name: config
    configMap:
      name: {{ include "equipage.fullname" .root }}
  - name: home
    {{- if $v.home.persistentVolumeClaim }}
    persistentVolumeClaim:
      claimName: {{ $v.home.persistentVolumeClaim }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {}
{{- end -}}

{{/* The seed container's command: farm init on the shared volume, from the ConfigMap. */}}
{{- define "equipage.seed" -}}
{{- $args := list "farm" "init" "/srv/equipage/farm" "--from" "/etc/equipage" -}}
{{- range .farm.admins -}}
{{- $args = concat $args (list "--admin" .) -}}
{{- end -}}
{{ toJson $args }}
{{- end -}}

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

{{/* The command of a pod; its argument: "gateway" or "worker". */}}
{{- define "equipage.args" -}}
{{- if eq .root.Values.mode "farm" -}}
["farm", "up", "--farm", "/etc/equipage"]
{{- else if eq .part "gateway" -}}
["up", "--no-console", "--no-workers"]
{{- else -}}
["up", "--no-console", "--no-gateway"]
{{- end -}}
{{- end -}}

{{/* The pod spec both Deployments share; its argument: root and part. */}}
{{- define "equipage.pod" -}}
{{- $v := .root.Values -}}
{{- $part := index $v .part -}}
terminationGracePeriodSeconds: {{ $part.terminationGracePeriodSeconds }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .part }}
    image: {{ printf "%s:%s" $v.image.repository $v.image.tag | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: {{ include "equipage.args" . }}
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
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/equipage
        readOnly: true
      - name: home
        mountPath: /srv/equipage/.equipage
      - name: tmp
        mountPath: /tmp
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

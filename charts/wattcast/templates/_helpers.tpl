{{/*
Names, labels and small computed values every template shares. Every object name goes
through wattcast.fullname or wattcast.componentName, so each is cut at 63 characters (the
limit of a DNS label and of a label value).
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "wattcast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name: fullnameOverride, or the release name when it already contains the chart
name, else "<release>-<chart>". Cut at 63 characters.
*/}}
{{- define "wattcast.fullname" -}}
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

{{/*
"<fullname>-<suffix>", cut at 63 characters. The suffix is kept whole: the fullname is
shortened first, so two components never collide after truncation.
Usage: include "wattcast.componentName" (list $ "operator")
*/}}
{{- define "wattcast.componentName" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $base := include "wattcast.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base $suffix -}}
{{- end -}}

{{/* Chart name and version, as in the helm.sh/chart label. */}}
{{- define "wattcast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The standard labels of every object (the CRD template includes this one too). */}}
{{- define "wattcast.labels" -}}
helm.sh/chart: {{ include "wattcast.chart" . }}
app.kubernetes.io/name: {{ include "wattcast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wattcast
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector labels of one component: stable across upgrades (a Deployment's selector is
immutable), so no version in them.
Usage: include "wattcast.selectorLabels" (list $ "operator")
*/}}
{{- define "wattcast.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "wattcast.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
The standard labels plus the component.
Usage: include "wattcast.componentLabels" (list $ "operator")
*/}}
{{- define "wattcast.componentLabels" -}}
{{ include "wattcast.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* An image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "wattcast.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount names. */}}
{{- define "wattcast.operator.serviceAccountName" -}}
{{- default (include "wattcast.componentName" (list . "operator")) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "wattcast.api.serviceAccountName" -}}
{{- default (include "wattcast.componentName" (list . "api")) .Values.api.serviceAccount.name -}}
{{- end -}}

{{/* The Secret holding the API's bearer tokens: api.tokensSecret.name, else "<fullname>-api-tokens". */}}
{{- define "wattcast.api.tokensSecretName" -}}
{{- default (include "wattcast.componentName" (list . "api-tokens")) .Values.api.tokensSecret.name -}}
{{- end -}}

{{/* The model store's PersistentVolumeClaim: the existing one, or the one the chart creates. */}}
{{- define "wattcast.modelsClaimName" -}}
{{- default (include "wattcast.componentName" (list . "models")) .Values.models.existingClaim -}}
{{- end -}}

{{/* The training namespaces as a JSON list: trainingNamespaces, else the release namespace. */}}
{{- define "wattcast.trainingNamespaces" -}}
{{- $namespaces := .Values.trainingNamespaces | default (list .Release.Namespace) -}}
{{- $namespaces | uniq | toJson -}}
{{- end -}}

{{/* The API's namespaces as a JSON list: api.namespaces, else the training namespaces. */}}
{{- define "wattcast.api.namespaces" -}}
{{- if .Values.api.namespaces -}}
{{- .Values.api.namespaces | uniq | toJson -}}
{{- else -}}
{{- include "wattcast.trainingNamespaces" . -}}
{{- end -}}
{{- end -}}

{{/* The API's default namespace: api.defaultNamespace, else the first of its namespaces. */}}
{{- define "wattcast.api.defaultNamespace" -}}
{{- $namespaces := include "wattcast.api.namespaces" . | fromJsonArray -}}
{{- default (first $namespaces) .Values.api.defaultNamespace -}}
{{- end -}}

{{/* "secret/key" of the default source's token, or empty (WATTCAST_INFLUX_TOKEN_SECRET). */}}
{{- define "wattcast.influx.tokenSecret" -}}
{{- with .Values.influx.default.tokenSecret -}}
{{- if .name -}}{{ printf "%s/%s" .name .key }}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the sources file is mounted in the operator and API pods. */}}
{{- define "wattcast.influx.sourcesDir" -}}/etc/wattcast/influx{{- end -}}

{{/* Checks across values the schema cannot express; fails the render with a clear message. */}}
{{- define "wattcast.validate" -}}
{{- if and (gt (int .Values.operator.replicaCount) 1) (not .Values.operator.peering.enabled) -}}
{{- fail "operator.replicaCount > 1 needs operator.peering.enabled=true: without Kopf peering every replica would handle every TrainingJob" -}}
{{- end -}}
{{- if .Values.api.defaultNamespace -}}
{{- $apiNamespaces := include "wattcast.api.namespaces" . | fromJsonArray -}}
{{- if not (has .Values.api.defaultNamespace $apiNamespaces) -}}
{{- fail (printf "api.defaultNamespace %q must be one of the API's namespaces %v" .Values.api.defaultNamespace $apiNamespaces) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.api.enabled (not .Values.operator.clusterWide) -}}
{{- $trainingNamespaces := include "wattcast.trainingNamespaces" . | fromJsonArray -}}
{{- range include "wattcast.api.namespaces" . | fromJsonArray -}}
{{- if not (has . $trainingNamespaces) -}}
{{- fail (printf "api.namespaces: the operator does not watch %q (it watches trainingNamespaces %v): TrainingJobs the API made there would never run. Add it to trainingNamespaces, or set operator.clusterWide=true" . $trainingNamespaces) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if le (int .Values.operator.watch.clientTimeout) (int .Values.operator.watch.serverTimeout) -}}
{{- fail "operator.watch.clientTimeout must be above operator.watch.serverTimeout, or the client would drop healthy watches" -}}
{{- end -}}
{{- $names := list -}}
{{- range .Values.influx.sources -}}
{{- if has .name $names -}}
{{- fail (printf "influx.sources: the name %q is used twice" .name) -}}
{{- end -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- with .Values.networkPolicy -}}
{{- if and .enabled .apiIngressFrom (not .metricsFrom) $.Values.monitoring.serviceMonitor.enabled -}}
{{- fail "networkPolicy.apiIngressFrom narrows who reaches the API's port, which also serves /metrics: set networkPolicy.metricsFrom to where Prometheus runs, or its ServiceMonitor cannot scrape the API" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.influx.default.url (has "default" $names) -}}
{{- fail "influx.sources: the name \"default\" belongs to influx.default; pick another name" -}}
{{- end -}}
{{- end -}}

{{/* The pod-level volumes every chart pod has: an emptyDir for /tmp (the root is read-only). */}}
{{- define "wattcast.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{/* Egress to the InfluxDB servers (networkPolicy.influx): trainers, the API, forecasts. */}}
{{- define "wattcast.networkPolicy.influxEgress" -}}
- ports:
    {{- range .Values.networkPolicy.influx.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.influx.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Egress every wattcast pod needs: DNS and the Kubernetes API server (networkpolicies.yaml). */}}
{{- define "wattcast.networkPolicy.egressBase" -}}
# DNS, to resolve the API server's and InfluxDB's names.
- ports:
    {{- range .Values.networkPolicy.dns.ports }}
    - port: {{ . }}
      protocol: UDP
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# The Kubernetes API server, by its endpoints' ports (and addresses, when given).
- ports:
    {{- range .Values.networkPolicy.kubeApiServer.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.kubeApiServer.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/*
The operator's RBAC rules (rbac-operator.yaml), shared by its namespaced Roles and its
ClusterRole. A comment on every rule says why the operator needs it.
*/}}
{{- define "wattcast.operator.rules" -}}
# Watch TrainingJobs and keep Kopf's bookkeeping (finalizer, annotations) on them.
- apiGroups: ["wattcast.dev"]
  resources: ["trainingjobs"]
  verbs: ["get", "list", "watch", "patch"{{ if gt (int .Values.operator.trainingJobRetentionSeconds) 0 }}, "delete"{{ end }}]
  {{- if gt (int .Values.operator.trainingJobRetentionSeconds) 0 }}
  # delete: finished TrainingJobs are removed after operator.trainingJobRetentionSeconds.
  {{- end }}
# Write phase, conditions, jobName, attempts and the result from the Job's state (merge
# patches of the status subresource; the TrainingJob itself is read with get above).
- apiGroups: ["wattcast.dev"]
  resources: ["trainingjobs/status"]
  verbs: ["patch"]
# The Jobs and trainer identities it creates name their TrainingJob as owner with
# blockOwnerDeletion; clusters that enforce owner references (OpenShift's
# OwnerReferencesPermissionEnforcement) require update on the owner's finalizers for that.
- apiGroups: ["wattcast.dev"]
  resources: ["trainingjobs/finalizers"]
  verbs: ["update"]
# Create each TrainingJob's Job, follow its status, and suspend and resume it (patch
# spec.suspend). No delete: deleting a TrainingJob removes its Job through the
# ownerReference (the garbage collector's doing), and the operator never deletes a Job.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create", "get", "list", "watch", "patch"]
# Give each TrainingJob's trainer its own identity: a ServiceAccount, and a Role and
# RoleBinding whose rules name only that TrainingJob (resourceNames). RBAC lets the operator
# grant only rights it holds itself (get trainingjobs, patch trainingjobs/status: above), so
# no bind or escalate is needed. get: a 409 on create reads the object to adopt it. The
# objects are owned by their TrainingJob; the garbage collector deletes them with it.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create", "get"]
# (the Role and RoleBinding of the identity, see above)
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create", "get"]
# List the trainer pods of a finished Job for their termination messages (the final result
# when the API path failed), and watch them to show on the TrainingJob why one cannot start.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# Post an Event on every phase transition (Kopf's logger posts them too).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Read the Workloads Kueue makes for queued Jobs: a Queued TrainingJob shows why it waits.
- apiGroups: ["kueue.x-k8s.io"]
  resources: ["workloads"]
  verbs: ["get", "list", "watch"]
# Watch FleetTrainingJobs (docs/operator.md, fleets) and keep Kopf's finalizer on them while
# their sync timer runs; their Indexed Job is one of the batch jobs above.
- apiGroups: ["wattcast.dev"]
  resources: ["fleettrainingjobs"]
  verbs: ["get", "list", "watch", "patch"]
# Write a fleet's whole status from its Job and its shards' reports.
- apiGroups: ["wattcast.dev"]
  resources: ["fleettrainingjobs/status"]
  verbs: ["patch"]
# The fleet's Job and ConfigMap name it as owner with blockOwnerDeletion (see above).
- apiGroups: ["wattcast.dev"]
  resources: ["fleettrainingjobs/finalizers"]
  verbs: ["update"]
# The ConfigMap `<fleet>-fleet` the shard pods mount (the fleet's spec and uid); get: adopt
# it after a restart. Owned by the fleet: deleted with it.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "get"]
# The Lease `<fleet>-progress` on which running shards keep their live progress: created with
# the fleet (owned by it), read on each sync, and the entries of finished shards removed. The
# shards' own Role grants get and patch on that one Lease, which RBAC allows the operator to
# grant only because it holds them itself.
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create", "get", "patch"]
{{- if .Values.operator.peering.enabled }}
# Kopf peering: replicas record their liveness on the peering object and pause while a peer
# with a higher priority is alive.
- apiGroups: ["kopf.dev"]
  resources: [{{ if .Values.operator.clusterWide }}"clusterkopfpeerings"{{ else }}"kopfpeerings"{{ end }}]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end -}}

{{/*
"true" when the model store's claim is ReadWriteOnce: it attaches to one node, so every pod that
mounts it (the API's, the forecast runs', the trainers' through WATTCAST_MODELS_SINGLE_NODE)
carries the models-claim label and requires pod affinity, by node, to the others
(docs/deploying.md, Model storage). Empty otherwise.
*/}}
{{- define "wattcast.models.singleNode" -}}
{{- if eq .Values.models.accessMode "ReadWriteOnce" }}true{{ end -}}
{{- end -}}

{{/* The label of the pods that mount the model store (wattcast.crd.constants.LABEL_MODELS_CLAIM). */}}
{{- define "wattcast.models.podLabel" -}}
{{- if include "wattcast.models.singleNode" . -}}
wattcast.dev/models-claim: {{ include "wattcast.modelsClaimName" . }}
{{- end -}}
{{- end -}}

{{/*
A pod's affinity: the component's own (api.affinity, say) plus, when the pod mounts a
ReadWriteOnce model store, the required pod affinity to the model store's node.
Usage: include "wattcast.models.affinity" (list $ .Values.api.affinity <mounts the store>)
*/}}
{{- define "wattcast.models.affinity" -}}
{{- $root := index . 0 -}}
{{- $affinity := deepCopy (index . 1 | default dict) -}}
{{- if and (index . 2) (include "wattcast.models.singleNode" $root) -}}
{{- $podAffinity := get $affinity "podAffinity" | default dict -}}
{{- $required := get $podAffinity "requiredDuringSchedulingIgnoredDuringExecution" | default list -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (dict "wattcast.dev/models-claim" (include "wattcast.modelsClaimName" $root))) -}}
{{- $_ := set $podAffinity "requiredDuringSchedulingIgnoredDuringExecution" (append $required $term) -}}
{{- $_ := set $affinity "podAffinity" $podAffinity -}}
{{- end -}}
{{- with $affinity -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

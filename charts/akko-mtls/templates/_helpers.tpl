{{/*
The injection selection (MeshConfig's inject: section) from the runbook's flags, with the "never both" check.
Argument: dict "injectNamespace" "inject" "linkerdInject" "selectors" "namespace" "release" "namespaceKey".
A copy of charts/lattice-control-plane/templates/_helpers.tpl's (ChartParityTests checks they are the same text);
LatticeManifests' InjectionValues and InjectionStrategyCheck are its twin in Swift.
*/}}
{{- define "lattice.injection" -}}
{{- $on := list -}}
{{- $sets := list -}}
{{- $enabled := dict -}}
{{- range $spelling := list "inject" "linkerdInject" -}}
{{- $flags := index $ $spelling | default dict -}}
{{- range $name := keys $flags | sortAlpha -}}
{{- if eq (toString (index $flags $name)) "true" -}}
{{- $key := printf "global.serviceMesh.%s.%s" $spelling $name -}}
{{- $on = append $on $key -}}
{{- $sets = append $sets (printf "--set %s=false" $key) -}}
{{- $_ := set $enabled $name true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $injectNamespace := eq (toString .injectNamespace) "true" -}}
{{- if and $injectNamespace $on -}}
{{- fail (printf "injectNamespace: true and per-service injection (%s) are both on; pick one strategy, never both. To move to namespace-wide injection, turn the per-service flags off in the same upgrade: %s" (join ", " $on) (join " " $sets)) -}}
{{- end -}}
{{- $namespaces := list -}}
{{- $services := list -}}
{{- if or $injectNamespace $enabled -}}
{{- if not .namespace -}}
{{- fail (printf "%s is empty: name the application namespace the injection flags apply to (e.g. --set %s=akko)" .namespaceKey .namespaceKey) -}}
{{- end -}}
{{- if $injectNamespace -}}
{{- $namespaces = list .namespace -}}
{{- else -}}
{{- $selectors := .selectors | default dict -}}
{{- $release := .release | default .namespace -}}
{{- range $name := keys $enabled | sortAlpha -}}
{{- $labels := index $selectors $name | default (dict "app.kubernetes.io/name" (printf "%s-%s" $release $name)) -}}
{{- $services = append $services (dict "name" $name "namespace" $.namespace "matchLabels" $labels) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "namespaces" $namespaces "services" $services) -}}
{{- end -}}

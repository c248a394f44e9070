// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kubeapi

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containerSpec is what the kubelet gives a pod's first container: its
// variables resolved (values with $(VAR) references, the downward API,
// secrets and configmaps), its ConfigMap volumes' files, its arguments and
// probes, as the pod is now.
func (s *Server) containerSpec(p *pod) (ContainerSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := p.obj.DeepCopy()
	obj.Status.PodIP = podIP // assigned before the container starts
	c := obj.Spec.Containers[0]
	spec := ContainerSpec{Pod: obj.Name, Index: p.index, Image: c.Image, Env: map[string]string{}, Files: map[string]string{},
		ReadinessProbe: c.ReadinessProbe}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(obj.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return ContainerSpec{}, fmt.Errorf("volume %q not found", m.Name)
		}
		v := obj.Spec.Volumes[i]
		switch {
		case v.ConfigMap != nil:
			cm, ok := s.configMaps[key(obj.Namespace, v.ConfigMap.Name)]
			if !ok {
				return ContainerSpec{}, fmt.Errorf("configmap %q not found", v.ConfigMap.Name)
			}
			for k, text := range cm.Data {
				spec.Files[path.Join(m.MountPath, k)] = text
			}
		case v.Secret != nil:
			secret, ok := s.secrets[key(obj.Namespace, v.Secret.SecretName)]
			if !ok {
				return ContainerSpec{}, fmt.Errorf("secret %q not found", v.Secret.SecretName)
			}
			for k, b := range secret.Data {
				spec.Files[path.Join(m.MountPath, k)] = string(b)
			}
		default:
			return ContainerSpec{}, fmt.Errorf("volume %q: the stand-in mounts configmaps and secrets only", m.Name)
		}
	}
	for _, e := range c.Env {
		value, err := s.envValue(obj, e, spec.Env)
		if err != nil {
			return ContainerSpec{}, err
		}
		spec.Env[e.Name] = value
	}
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		spec.Args = append(spec.Args, expand(a, spec.Env))
	}
	return spec, nil
}

// envValue resolves one variable as the kubelet does (s.mu held).
func (s *Server) envValue(obj *corev1.Pod, e corev1.EnvVar, earlier map[string]string) (string, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return expand(e.Value, earlier), nil
	case from.FieldRef != nil:
		return fieldValue(obj, from.FieldRef.FieldPath)
	case from.SecretKeyRef != nil:
		secret, ok := s.secrets[key(obj.Namespace, from.SecretKeyRef.Name)]
		if !ok {
			return "", fmt.Errorf("secret %q not found", from.SecretKeyRef.Name)
		}
		b, ok := secret.Data[from.SecretKeyRef.Key]
		if !ok {
			return "", fmt.Errorf("couldn't find key %s in Secret %s/%s", from.SecretKeyRef.Key, obj.Namespace, from.SecretKeyRef.Name)
		}
		return string(b), nil
	case from.ConfigMapKeyRef != nil:
		cm, ok := s.configMaps[key(obj.Namespace, from.ConfigMapKeyRef.Name)]
		if !ok {
			return "", fmt.Errorf("configmap %q not found", from.ConfigMapKeyRef.Name)
		}
		v, ok := cm.Data[from.ConfigMapKeyRef.Key]
		if !ok {
			return "", fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", from.ConfigMapKeyRef.Key, obj.Namespace, from.ConfigMapKeyRef.Name)
		}
		return v, nil
	}
	return "", fmt.Errorf("variable %s: the stand-in resolves values, fieldRef, secretKeyRef and configMapKeyRef", e.Name)
}

var subscript = regexp.MustCompile(`^metadata\.(annotations|labels)\['([^']+)'\]$`)

// fieldValue is a downward API field of the pod.
func fieldValue(obj *corev1.Pod, field string) (string, error) {
	switch field {
	case "metadata.name":
		return obj.Name, nil
	case "metadata.namespace":
		return obj.Namespace, nil
	case "metadata.uid":
		return string(obj.UID), nil
	case "spec.serviceAccountName":
		return obj.Spec.ServiceAccountName, nil
	case "status.podIP":
		return obj.Status.PodIP, nil
	}
	if m := subscript.FindStringSubmatch(field); m != nil {
		if m[1] == "annotations" {
			return obj.Annotations[m[2]], nil
		}
		return obj.Labels[m[2]], nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", field)
}

// expand replaces $(VAR) by the value of a variable defined earlier, as the
// kubelet does; $$ is a $, and a reference to nothing stays as it is.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				name := s[i+2 : i+end]
				if v, ok := vars[name]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

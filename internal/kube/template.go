// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// defaultTemplate is the standing fleet's manifest, the load-test fleet's source.
var defaultTemplate = []string{"deploy", "eks", "scale-out", "statefulset.yaml"}

// containerName is the collector's container in the manifests and in the Job.
const containerName = "otelcol-dummymetrics"

// template is what the pods take from the standing fleet's manifest.
type template struct {
	labels    map[string]string
	pod       corev1.PodSpec
	container corev1.Container
	// mount is where the configuration's ConfigMap is mounted.
	mount corev1.VolumeMount
}

// strict decodes manifests as the API server does: a field its type does not
// know, or one given twice, is an error.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// loadTemplate reads the StatefulSet of path (the default manifest when empty)
// and its collector container.
func loadTemplate(path string) (template, error) {
	if path == "" {
		var err error
		if path, err = runner.RepoPath(defaultTemplate...); err != nil {
			return template{}, err
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return template{}, err
	}
	t, err := parseTemplate(b)
	if err != nil {
		return template{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// parseTemplate finds the one StatefulSet of a multi-document manifest.
func parseTemplate(manifest []byte) (template, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var sets []*appsv1.StatefulSet
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return template{}, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			return template{}, err
		}
		if s, ok := obj.(*appsv1.StatefulSet); ok {
			sets = append(sets, s)
		} else if gvk.Kind == "StatefulSet" {
			return template{}, fmt.Errorf("a StatefulSet of %s, not apps/v1", gvk.GroupVersion())
		}
	}
	if len(sets) != 1 {
		return template{}, fmt.Errorf("%d StatefulSets: want one", len(sets))
	}
	pod := sets[0].Spec.Template.Spec
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == containerName })
	if i < 0 {
		return template{}, fmt.Errorf("no container %s", containerName)
	}
	t := template{labels: sets[0].Spec.Template.Labels, pod: pod, container: pod.Containers[i]}
	// The configuration's mount: the one of a ConfigMap volume.
	for _, m := range t.container.VolumeMounts {
		j := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name && v.ConfigMap != nil })
		if j >= 0 {
			t.mount = m
		}
	}
	if t.mount.Name == "" {
		return template{}, fmt.Errorf("container %s mounts no ConfigMap: nowhere to put the configuration", containerName)
	}
	return t, nil
}

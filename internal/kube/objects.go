// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// The labels of everything a run creates; labelRun names the run.
const (
	labelName      = "app.kubernetes.io/name"
	labelComponent = "app.kubernetes.io/component"
	labelRun       = "app.kubernetes.io/instance"
	labelManagedBy = "app.kubernetes.io/managed-by"
	// completionIndex is the annotation (and label) the Job controller gives
	// each pod of an Indexed Job.
	completionIndex = "batch.kubernetes.io/job-completion-index"
)

// The pod's variables that the Job sets itself: its replica index and its
// addresses, which only the pod knows.
const (
	envReplicaIndex  = "GENERATOR_REPLICA_INDEX"
	envTelemetryHost = "TELEMETRY_HOST"
	envTelemetryPort = "TELEMETRY_PORT"
	envHealth        = "HEALTH_CHECK_ENDPOINT"
)

// telemetryPort is the port of the collector's own metrics in the pod, which
// the runner reads through the API server's pod proxy.
const telemetryPort = 8888

// finishedTTL removes a Job that ended without the runner (its deadline
// passed after the runner died) and, by their owner references, its
// ConfigMap and Secret; the runner removes them itself otherwise.
const finishedTTL = time.Hour

// objects are what a run creates.
type objects struct {
	configMap *corev1.ConfigMap
	// secret holds the credentials; nil when there are none.
	secret *corev1.Secret
	job    *batchv1.Job
}

// configFiles turns the runner's configs (repository files, absolute paths,
// yaml: snippets) into the ConfigMap's files, named in order so that a listing
// shows the order of the --config arguments; a snippet's file holds its text,
// which the collector reads as it reads the snippet.
func configFiles(configs []string, read func(string) ([]byte, error)) (names []string, data map[string]string, err error) {
	data = map[string]string{}
	for i, c := range append(slices.Clone(configs), runner.JSONLogs) {
		var name, text string
		if snippet, ok := strings.CutPrefix(c, "yaml:"); ok {
			name, text = fmt.Sprintf("%02d-overlay.yaml", i), snippet+"\n"
		} else {
			file := c
			if !filepath.IsAbs(file) {
				if file, err = runner.RepoPath(c); err != nil {
					return nil, nil, err
				}
			}
			b, err := read(file)
			if err != nil {
				return nil, nil, err
			}
			name, text = fmt.Sprintf("%02d-%s", i, filepath.Base(file)), string(b)
		}
		names = append(names, name)
		data[name] = text
	}
	return names, data, nil
}

// makeObjects builds the ConfigMap, the Secret and the Job of a run named
// name: the Job is created suspended, and resumed once the others exist.
func makeObjects(opts Options, t template, name string, configs []string, env map[string]string) (objects, error) {
	files, data, err := configFiles(configs, os.ReadFile)
	if err != nil {
		return objects{}, err
	}
	labels := map[string]string{}
	maps.Copy(labels, t.podLabels())
	maps.Copy(labels, map[string]string{labelComponent: "loadtest", labelRun: name, labelManagedBy: "otelcol-dummymetrics-loadtest"})
	meta := metav1.ObjectMeta{Name: name, Namespace: opts.Namespace, Labels: labels}
	out := objects{configMap: &corev1.ConfigMap{ObjectMeta: meta, Data: data}}

	var args []string
	for _, f := range files {
		args = append(args, "--config", path.Join(t.mount.MountPath, f))
	}
	health := t.healthPort()
	vars := []corev1.EnvVar{
		{Name: envTelemetryHost, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: envTelemetryPort, Value: strconv.Itoa(telemetryPort)},
		// On the pod's IP, where the kubelet's probes come from.
		{Name: envHealth, Value: fmt.Sprintf("$(%s):%d", envTelemetryHost, health)},
		{Name: envReplicaIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + completionIndex + "']"}}},
	}
	secrets := map[string][]byte{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		switch {
		case slices.Contains([]string{envTelemetryHost, envTelemetryPort, envHealth, envReplicaIndex}, k):
			continue // the pod's own
		case runner.IsSecret(k):
			secrets[k] = []byte(env[k])
			vars = append(vars, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: k}}})
		default:
			vars = append(vars, corev1.EnvVar{Name: k, Value: env[k]})
		}
	}
	if len(secrets) > 0 {
		out.secret = &corev1.Secret{ObjectMeta: *meta.DeepCopy(), Type: corev1.SecretTypeOpaque, Data: secrets}
	}

	c := corev1.Container{
		Name:            containerName,
		Image:           opts.Image,
		ImagePullPolicy: t.container.ImagePullPolicy,
		Args:            args,
		Env:             vars,
		Resources:       *t.container.Resources.DeepCopy(),
		SecurityContext: t.container.SecurityContext.DeepCopy(),
		StartupProbe:    t.probe(t.container.StartupProbe),
		LivenessProbe:   t.probe(t.container.LivenessProbe),
		ReadinessProbe:  t.probe(t.container.ReadinessProbe),
		VolumeMounts:    []corev1.VolumeMount{{Name: t.mount.Name, MountPath: t.mount.MountPath, ReadOnly: true}},
		// A collector that crashes says why in its status when its log ends badly.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if opts.Resources != nil {
		c.Resources = *opts.Resources.DeepCopy()
	}
	if c.ReadinessProbe == nil {
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt(health)}}, PeriodSeconds: 2}
	}
	grace := int64(math.Ceil(opts.GracePeriod.Seconds()))
	if t.pod.TerminationGracePeriodSeconds != nil {
		grace = max(grace, *t.pod.TerminationGracePeriodSeconds)
	}
	account := opts.ServiceAccount
	if account == "" {
		account = t.pod.ServiceAccountName
	}
	pod := corev1.PodSpec{
		// Never: a collector started again would run its schedule again from
		// the start, its counters reset; the runner reports the pod instead.
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            account,
		SecurityContext:               t.pod.SecurityContext.DeepCopy(),
		TerminationGracePeriodSeconds: &grace,
		NodeSelector:                  maps.Clone(t.pod.NodeSelector),
		Affinity:                      t.pod.Affinity.DeepCopy(),
		Tolerations:                   slices.Clone(t.pod.Tolerations),
		TopologySpreadConstraints:     slices.Clone(t.pod.TopologySpreadConstraints),
		PriorityClassName:             t.pod.PriorityClassName,
		Containers:                    []corev1.Container{c},
		Volumes: []corev1.Volume{{Name: t.mount.Name, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}},
	}
	replicas := int32(opts.Replicas)
	out.job = &batchv1.Job{
		ObjectMeta: *meta.DeepCopy(),
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion),
			Completions:    &replicas,
			Parallelism:    &replicas,
			// A pod that fails is not run again: its schedule would start over.
			BackoffLimit: ptr.To[int32](0),
			// ... nor replaced while it still terminates.
			PodReplacementPolicy:    ptr.To(batchv1.Failed),
			TTLSecondsAfterFinished: ptr.To(int32(finishedTTL.Seconds())),
			Suspend:                 ptr.To(true),
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)}, Spec: pod},
		},
	}
	if opts.ActiveDeadline > 0 {
		out.job.Spec.ActiveDeadlineSeconds = ptr.To(int64(math.Ceil(opts.ActiveDeadline.Seconds())))
	}
	return out, nil
}

// podLabels are the template's pod labels, which name the application.
func (t template) podLabels() map[string]string {
	out := maps.Clone(t.labels)
	if out[labelName] == "" {
		out = map[string]string{labelName: "otelcol-dummymetrics"}
	}
	return out
}

// healthPort is the port of the template's readiness probe (13133 without one).
func (t template) healthPort() int {
	if p := t.probe(t.container.ReadinessProbe); p != nil && p.HTTPGet != nil && p.HTTPGet.Port.Type == intstr.Int {
		return p.HTTPGet.Port.IntValue()
	}
	return 13133
}

// probe copies a probe of the template with its named port resolved: the Job's
// container declares no ports.
func (t template) probe(p *corev1.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	p = p.DeepCopy()
	if g := p.HTTPGet; g != nil && g.Port.Type == intstr.String {
		for _, cp := range t.container.Ports {
			if cp.Name == g.Port.StrVal {
				g.Port = intstr.FromInt32(cp.ContainerPort)
			}
		}
	}
	if s := p.TCPSocket; s != nil && s.Port.Type == intstr.String {
		for _, cp := range t.container.Ports {
			if cp.Name == s.Port.StrVal {
				s.Port = intstr.FromInt32(cp.ContainerPort)
			}
		}
	}
	return p
}

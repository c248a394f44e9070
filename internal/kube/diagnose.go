// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// notReady says, pod by pod, why the fleet is not ready: the phase, why it is
// not scheduled, why its container waits (ImagePullBackOff, ...), and its
// last warnings; for an index without a pod, the Job's.
func (f *fleet) notReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var why []string
	for _, m := range f.members {
		if !m.isReady() {
			why = append(why, f.whyNotReady(ctx, m))
		}
	}
	return fmt.Errorf("kube: %d of %d pods of job %s/%s not ready after %s:\n  %s",
		len(why), len(f.members), f.opts.Namespace, f.name, timeout, strings.Join(why, "\n  "))
}

func (f *fleet) whyNotReady(ctx context.Context, m *member) string {
	m.mu.Lock()
	var pod *corev1.Pod
	if m.pod != nil {
		pod = m.pod.DeepCopy()
	}
	m.mu.Unlock()
	if pod == nil {
		s := fmt.Sprintf("index %d: no pod", m.index)
		if events := f.lastEvents(ctx, "Job", f.name); events != "" {
			s += "; the job's events: " + events
		}
		return s
	}
	parts := []string{string(pod.Status.Phase)}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			parts = append(parts, "not scheduled: "+reason(c.Reason, c.Message))
		}
	}
	for _, s := range pod.Status.ContainerStatuses {
		switch {
		case s.State.Waiting != nil:
			parts = append(parts, "container "+s.Name+" waiting: "+reason(s.State.Waiting.Reason, s.State.Waiting.Message))
		case s.State.Running != nil && !s.Ready:
			parts = append(parts, "container "+s.Name+" running, not ready (its readiness probe fails)")
		}
	}
	s := fmt.Sprintf("pod %s (index %d): %s", pod.Name, m.index, strings.Join(parts, "; "))
	if events := f.lastEvents(ctx, "Pod", pod.Name); events != "" {
		s += "; events: " + events
	}
	return s
}

func reason(r, message string) string {
	if message == "" {
		return r
	}
	return r + ": " + message
}

// lastEvents are the last few distinct events of an object, the newest last;
// none when they cannot be listed (events are a help, not a requirement).
func (f *fleet) lastEvents(ctx context.Context, kind, name string) string {
	list, err := f.client.CoreV1().Events(f.opts.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.String(),
	})
	if err != nil {
		return ""
	}
	events := list.Items
	slices.SortStableFunc(events, func(a, b corev1.Event) int { return cmp.Compare(eventTime(a).UnixNano(), eventTime(b).UnixNano()) })
	var out []string
	for i := len(events) - 1; i >= 0 && len(out) < 3; i-- {
		line := reason(events[i].Reason, events[i].Message)
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	slices.Reverse(out)
	return strings.Join(out, "; ")
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

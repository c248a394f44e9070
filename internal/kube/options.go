// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package kube runs a load test's collectors on Kubernetes: an Indexed Job of
// the built image in a namespace, each pod one runner.Member read through the
// API server (its log, its telemetry by the pod proxy), so that a fleet larger
// than one machine is judged as one (docs/deploy.md, "A load test on Kubernetes").
package kube

import (
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Options describe the fleet.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty means the default loading rules
	// (KUBECONFIG, then ~/.kube/config), with its current context.
	Kubeconfig string
	// Namespace is where the Job, its ConfigMap and its Secret are created.
	Namespace string
	// Replicas is the fleet's size: the Job's completions and parallelism; pod k
	// runs as GENERATOR_REPLICA_INDEX k.
	Replicas int
	// Image is the distribution's image (make docker), pulled by the nodes.
	Image string
	// ServiceAccount runs the pods; empty means the pod template's
	// (otelcol-dummymetrics, of deploy/eks/base: IRSA for AMP).
	ServiceAccount string
	// Resources, when set, replace the pod template's requests and limits.
	Resources *corev1.ResourceRequirements
	// ReadyTimeout bounds the wait until every pod is Ready (3 minutes when 0).
	ReadyTimeout time.Duration
	// ActiveDeadline is the Job's activeDeadlineSeconds: the pods end by then
	// even when the runner died without removing them.
	ActiveDeadline time.Duration
	// GracePeriod is at least the collector's stop bound
	// (runner.Settings.StopBound() + 10 s): the pod's
	// terminationGracePeriodSeconds, or the template's when that is longer.
	GracePeriod time.Duration
	// Template is the file whose StatefulSet's collector container the pods
	// are made from (image pull policy, resources, security contexts, probes,
	// the configuration's mount); empty means deploy/eks/scale-out/statefulset.yaml,
	// so that the standing fleet and the load-test fleet do not drift.
	Template string
	// LogDir, when set, gets each pod's log as <pod>.log as it streams.
	LogDir string
	// Warnings receives what the caller should know but that is no error: a
	// cleanup that failed, with the command that finishes it (os.Stderr when nil).
	Warnings io.Writer
}

// defaultReadyTimeout covers scheduling and an image pull on a cold node.
const defaultReadyTimeout = 3 * time.Minute

// validate reports every problem at once.
func (o Options) validate() error {
	var errs []error
	if o.Namespace == "" {
		errs = append(errs, errors.New("kube: no namespace"))
	}
	if o.Image == "" {
		errs = append(errs, errors.New("kube: no image"))
	}
	if o.Replicas < 1 {
		errs = append(errs, fmt.Errorf("kube: %d replicas: at least 1", o.Replicas))
	}
	if o.ReadyTimeout < 0 || o.ActiveDeadline < 0 || o.GracePeriod < 0 {
		errs = append(errs, fmt.Errorf("kube: ready timeout %s, active deadline %s, grace period %s: none negative", o.ReadyTimeout, o.ActiveDeadline, o.GracePeriod))
	}
	return errors.Join(errs...)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/ampload/otelcol-dummymetrics/internal/kube"
	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// kubeFlags run the collectors on Kubernetes (internal/kube): an Indexed Job
// of -replicas pods in -kube-namespace.
type kubeFlags struct {
	opts     kube.Options
	replicas int
	// alignStart is the pods' align_start: they start over a while (scheduling,
	// image pulls) and must all start within one such period.
	alignStart time.Duration
}

// maxReplicas bounds a fleet as -collectors is bounded: each member is
// scraped every second.
const maxReplicas = 64

func registerKubeFlags(fs *flag.FlagSet) *kubeFlags {
	k := &kubeFlags{}
	fs.StringVar(&k.opts.Namespace, "kube-namespace", "", "run the collectors on Kubernetes, as an Indexed Job in this namespace, instead of on this machine (docs/deploy.md, \"A load test on Kubernetes\"); needs -image and -url")
	fs.IntVar(&k.replicas, "replicas", 1, "with -kube-namespace: the pods of the fleet: -stages is their total, split evenly, -instances is per pod; one verdict (not with -collectors)")
	fs.StringVar(&k.opts.Kubeconfig, "kubeconfig", "", "with -kube-namespace: the kubeconfig, its current context (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&k.opts.Image, "image", "", "with -kube-namespace: the distribution's image (make docker IMAGE=...), pulled by the nodes")
	fs.StringVar(&k.opts.ServiceAccount, "kube-service-account", "", "with -kube-namespace: the pods' service account (default: the scale-out StatefulSet's, otelcol-dummymetrics of deploy/eks/base, with IRSA for AMP)")
	fs.DurationVar(&k.opts.ReadyTimeout, "kube-ready-timeout", 3*time.Minute, "with -kube-namespace: how long the pods may take to be Ready (scheduling, image pulls); then the run stops, naming the pods and why")
	fs.DurationVar(&k.alignStart, "kube-align-start", 30*time.Second, "with -kube-namespace and -replicas above 1: the pods begin their stages at the next multiple of this after they start, so all must start within one such period; the Job is created just after a boundary")
	return k
}

// on tells whether the collectors run on Kubernetes.
func (k *kubeFlags) on() bool { return k.opts.Namespace != "" }

// apply checks the flags against the others: -replicas becomes the count of
// collectors the stages are split over.
func (k *kubeFlags) apply(o *options, explicit map[string]bool) error {
	var errs []error
	if !k.on() {
		for _, name := range []string{"replicas", "kubeconfig", "image", "kube-service-account", "kube-ready-timeout", "kube-align-start"} {
			if explicit[name] {
				errs = append(errs, fmt.Errorf("-%s needs -kube-namespace", name))
			}
		}
		return errors.Join(errs...)
	}
	if explicit["collectors"] {
		errs = append(errs, errors.New("-collectors runs collectors on this machine, -kube-namespace on Kubernetes: give -replicas"))
	}
	if k.opts.Image == "" {
		errs = append(errs, errors.New("-kube-namespace needs -image: the distribution's image, which the nodes pull"))
	}
	if o.backend.WriteURL == "" {
		errs = append(errs, errors.New("-kube-namespace needs -url: the pods cannot reach a Prometheus on this machine"))
	}
	if k.replicas < 1 || k.replicas > maxReplicas {
		errs = append(errs, fmt.Errorf("-replicas %d: between 1 and %d", k.replicas, maxReplicas))
	} else {
		o.collectors = k.replicas
	}
	if k.opts.ReadyTimeout <= 0 || k.alignStart <= 0 {
		errs = append(errs, fmt.Errorf("-kube-ready-timeout %s and -kube-align-start %s: both positive", k.opts.ReadyTimeout, k.alignStart))
	}
	return errors.Join(errs...)
}

// align is the align_start of collectors started together.
func (o *options) align() time.Duration {
	if o.kube.on() {
		return o.kube.alignStart
	}
	return alignEvery
}

// startMembers is the runner's StartMembers on Kubernetes (nil on this
// machine): the pods' logs go to dir, their grace period covers the stop
// bound, and the Job's deadline the whole run, so that no pod outlives a
// runner that died.
func (t *test) startMembers(dir string, settings runner.Settings) func(context.Context, []string, map[string]string) ([]runner.Member, func(), error) {
	k := t.o.kube
	if !k.on() {
		return nil
	}
	opts := k.opts
	opts.Replicas = k.replicas
	opts.LogDir = dir
	opts.Warnings = t.errOut
	opts.GracePeriod = settings.StopBound() + 10*time.Second
	run := opts.ReadyTimeout + t.o.align() + settings.Lag() + opts.GracePeriod
	for _, s := range t.o.stages {
		run += s.Duration
	}
	opts.ActiveDeadline = run + 2*time.Minute
	return kube.StartMembers(opts)
}

// restarted names the members started again (a pod's container restarted, or
// another pod took its index): their counters began from zero, so the run's
// counts are not whole.
func restarted(members []runner.Member) error {
	var errs []error
	for _, m := range members {
		if n := m.Restarts(); n > 0 {
			times := "once"
			if n > 1 {
				times = fmt.Sprintf("%d times", n)
			}
			errs = append(errs, fmt.Errorf("pod %s restarted (%s): its counts were reset, so the run's counts are not whole", m.Name(), times))
		}
	}
	return errors.Join(errs...)
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ampload/otelcol-dummymetrics/internal/runner"
)

// member is one pod of the Job, by its completion index: the first pod of
// that index, which it follows to its end; a later one is a replacement, whose
// counters began from zero.
type member struct {
	f     *fleet
	index int

	mu   sync.Mutex
	name string
	pod  *corev1.Pod
	// others are the pods that took the index after the first.
	others []string
	// gone: the pod was deleted (or vanished) without a terminated status seen.
	gone          bool
	terminated    *corev1.ContainerStateTerminated
	logStarted    bool
	log           bytes.Buffer
	streamed      int64 // bytes of the pod's log read, beside the notes added
	logFile       *os.File
	logFileClosed bool
	logDone       chan struct{}
	exited        chan struct{}
	closing       bool // finish runs
}

func newMember(f *fleet, index int) *member {
	return &member{f: f, index: index, logDone: make(chan struct{}), exited: make(chan struct{})}
}

var _ runner.Member = (*member)(nil)

// Name is the pod's name.
func (m *member) Name() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.name
}

// Telemetry reads the collector's own metrics through the API server's pod
// proxy: the port is open on the pod's IP, and no Service exposes it.
func (m *member) Telemetry(ctx context.Context) (runner.Metrics, error) {
	b, err := m.f.client.CoreV1().Pods(m.f.opts.Namespace).ProxyGet("http", m.Name(), strconv.Itoa(telemetryPort), "metrics", nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("the pod proxy: %w", err)
	}
	return runner.ParseMetrics(bytes.NewReader(b))
}

// Log is the pod's log so far, as streamed from its start.
func (m *member) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

// Logged is the log, decoded.
func (m *member) Logged() runner.Log { return runner.ParseLog(m.Log()) }

// Terminate suspends the Job: the controller ends every pod gracefully
// (SIGTERM) and replaces none; the collectors drain within the grace period.
func (m *member) Terminate() error { return m.f.suspend() }

// Exited is closed once the pod's container has ended (or the pod is gone)
// and its log has been read to the end.
func (m *member) Exited() <-chan struct{} { return m.exited }

// ExitCode is the container's exit code; -1 when the pod went without one.
func (m *member) ExitCode() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.terminated == nil {
		return -1
	}
	return int(m.terminated.ExitCode)
}

// Kill deletes the pod at once (grace period 0) and waits for it to go.
func (m *member) Kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := m.f.client.CoreV1().Pods(m.f.opts.Namespace).Delete(ctx, m.Name(), metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		fmt.Fprintf(m.f.warnings, "kube: deleting pod %s: %v\n", m.Name(), err)
	}
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		m.observe(nil, true) // it did not go in time: count it as gone
		<-m.exited
	}
}

// Restarts counts the container's restarts and the pods that took its index
// after it: each began its counters, and its schedule, from zero.
func (m *member) Restarts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.others)
	if m.pod != nil {
		for _, s := range m.pod.Status.ContainerStatuses {
			n += int(s.RestartCount)
		}
	}
	return n
}

// observe takes a pod's state from the watch (pod nil: the member's pod is
// not there any more).
func (m *member) observe(pod *corev1.Pod, deleted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case pod == nil:
	case m.name == "":
		m.name = pod.Name
	case pod.Name != m.name:
		if !slices.Contains(m.others, pod.Name) {
			m.others = append(m.others, pod.Name)
		}
		return
	}
	if pod != nil {
		m.pod = pod
		if s := m.status(); s != nil && s.State.Terminated != nil {
			m.terminated = s.State.Terminated
		}
	}
	if deleted && m.terminated == nil {
		m.gone = true
	}
	if !m.logStarted && m.name != "" && (m.started() || m.terminated != nil) {
		m.logStarted = true
		m.f.wg.Go(m.streamLog)
	}
	if (m.terminated != nil || m.gone) && !m.closing {
		m.closing = true
		m.f.wg.Go(m.finish)
	}
}

// status is the collector container's status (m.mu held).
func (m *member) status() *corev1.ContainerStatus {
	if m.pod == nil {
		return nil
	}
	for i, s := range m.pod.Status.ContainerStatuses {
		if s.Name == containerName {
			return &m.pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// started tells a container that has run (m.mu held).
func (m *member) started() bool {
	s := m.status()
	return s != nil && (s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil)
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isReady tells a member whose pod is Ready and running.
func (m *member) isReady() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pod != nil && podReady(m.pod) && m.terminated == nil && !m.gone
}

// ended tells a member whose container ended or whose pod is gone.
func (m *member) ended() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.terminated != nil || m.gone
}

// startErr is why a member can no longer become ready: its pod ended.
func (m *member) startErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.terminated != nil:
		return fmt.Errorf("kube: pod %s ended before it was ready: %s%s", m.name, describeTerminated(m.terminated), m.lastLines())
	case m.gone:
		return fmt.Errorf("kube: pod %s was deleted before it was ready", m.name)
	}
	return nil
}

// lastLines are the end of the log so far, to quote (m.mu held).
func (m *member) lastLines() string {
	text := strings.TrimRight(m.log.String(), "\n")
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	return ":\n" + strings.Join(lines[max(0, len(lines)-5):], "\n")
}

func describeTerminated(t *corev1.ContainerStateTerminated) string {
	s := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Reason != "" {
		s = t.Reason + ", " + s
	}
	if msg := strings.TrimSpace(t.Message); msg != "" && t.Reason != "Completed" {
		s += " (" + lastLine(msg) + ")"
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// logWait bounds how long an ended pod's exit waits for the rest of its log.
const logWait = 15 * time.Second

// finish closes Exited once the log has been read to its end (or could not
// be), so that the final counts the runner reads from it are there; a pod that
// ended badly gets a line saying how, which the runner quotes.
func (m *member) finish() {
	m.mu.Lock()
	streaming := m.logStarted
	m.mu.Unlock()
	if streaming {
		select {
		case <-m.logDone:
		case <-time.After(logWait):
		case <-m.f.ctx.Done():
		}
	}
	m.mu.Lock()
	var note string
	switch t := m.terminated; {
	case t == nil:
		note = fmt.Sprintf("kube: pod %s was deleted before its container's end was seen", m.name)
	case t.ExitCode != 0 || (t.Reason != "" && t.Reason != "Completed"):
		note = fmt.Sprintf("kube: pod %s: its container ended: %s", m.name, describeTerminated(t))
	}
	if note != "" {
		m.appendLog([]byte(note + "\n"))
	}
	if m.logFile != nil {
		_ = m.logFile.Close()
	}
	m.logFileClosed = true
	m.mu.Unlock()
	close(m.exited)
}

// streamLog reads the pod's log from its start, following it until the
// container ends. A stream the API server cuts is opened again, the part
// already read skipped (a log only grows).
func (m *member) streamLog() {
	defer close(m.logDone)
	pods := m.f.client.CoreV1().Pods(m.f.opts.Namespace)
	for attempt := 0; m.f.ctx.Err() == nil; attempt++ {
		ended := m.ended()
		rc, err := pods.GetLogs(m.Name(), &corev1.PodLogOptions{Container: containerName, Follow: !ended}).Stream(m.f.ctx)
		if err == nil {
			err = m.readLog(rc)
			rc.Close()
		}
		if ended && (err == nil || attempt > 3) {
			return // the whole log of an ended container: nothing follows
		}
		if m.ended() && err == nil {
			continue // read once more, whole, now that it ended
		}
		if apierrors.IsNotFound(err) && m.ended() {
			return
		}
		m.f.pause(time.Second)
	}
}

// readLog appends what a stream holds beyond what was read before.
func (m *member) readLog(r io.Reader) error {
	m.mu.Lock()
	skip := m.streamed
	m.mu.Unlock()
	if _, err := io.CopyN(io.Discard, r, skip); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m.mu.Lock()
			m.appendLog(buf[:n])
			m.streamed += int64(n)
			m.mu.Unlock()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// appendLog keeps log text, and writes it to the run's folder when asked (m.mu held).
func (m *member) appendLog(b []byte) {
	m.log.Write(b)
	if m.f.opts.LogDir == "" || m.logFileClosed {
		return
	}
	if m.logFile == nil {
		f, err := os.Create(filepath.Join(m.f.opts.LogDir, m.name+".log"))
		if err != nil {
			return
		}
		m.logFile = f
	}
	_, _ = m.logFile.Write(b)
}

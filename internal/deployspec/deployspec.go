// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package deployspec reads the deployment examples of deploy/ (Kubernetes manifests
// and ECS task definitions) and the parts of the repository they must agree with,
// for the tests that check them and run them.
//
// Only the fields those tests read are modelled; the Kubernetes and ECS API
// packages would bring in far more than they are worth here.
package deployspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"

	"go.yaml.in/yaml/v3"
)

// K8sObject is one Kubernetes object of a manifest file.
type K8sObject struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   ObjectMeta        `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	Spec       K8sSpec           `yaml:"spec"`
	// File is the manifest file the object came from.
	File string `yaml:"-"`
}

// ObjectMeta is the metadata of an object or a pod template.
type ObjectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// K8sSpec holds the spec fields of the workload and service kinds used in deploy/.
type K8sSpec struct {
	Replicas    *int           `yaml:"replicas"`
	ServiceName string         `yaml:"serviceName"`
	Selector    *LabelSelector `yaml:"selector"`
	Template    *PodTemplate   `yaml:"template"`
	ClusterIP   string         `yaml:"clusterIP"`
	Ports       []ServicePort  `yaml:"ports"`
}

// LabelSelector is a workload's selector.
type LabelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// ServicePort is a port of a Service.
type ServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort any    `yaml:"targetPort"`
}

// PodTemplate is a workload's pod template.
type PodTemplate struct {
	Metadata ObjectMeta `yaml:"metadata"`
	Spec     PodSpec    `yaml:"spec"`
}

// PodSpec is the part of a pod spec the tests read.
type PodSpec struct {
	ServiceAccountName string      `yaml:"serviceAccountName"`
	InitContainers     []Container `yaml:"initContainers"`
	Containers         []Container `yaml:"containers"`
	Volumes            []Volume    `yaml:"volumes"`
}

// Container is a container of a pod spec.
type Container struct {
	Name           string         `yaml:"name"`
	Image          string         `yaml:"image"`
	Command        []string       `yaml:"command"`
	Args           []string       `yaml:"args"`
	Env            []EnvVar       `yaml:"env"`
	Ports          []PortSpec     `yaml:"ports"`
	VolumeMounts   []VolumeMount  `yaml:"volumeMounts"`
	StartupProbe   *Probe         `yaml:"startupProbe"`
	LivenessProbe  *Probe         `yaml:"livenessProbe"`
	ReadinessProbe *Probe         `yaml:"readinessProbe"`
	Resources      map[string]any `yaml:"resources"`
}

// EnvVar is an environment variable of a container.
type EnvVar struct {
	Name      string         `yaml:"name"`
	Value     string         `yaml:"value"`
	ValueFrom map[string]any `yaml:"valueFrom"`
}

// PortSpec is a container port.
type PortSpec struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

// Volume is a volume of a pod spec.
type Volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	EmptyDir map[string]any `yaml:"emptyDir"`
}

// Probe is an HTTP probe.
type Probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// EnvValue returns the value of the variable name and whether the container sets it.
func (c Container) EnvValue(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// ReadK8s reads every object of a multi-document YAML manifest.
func ReadK8s(path string) ([]K8sObject, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var objs []K8sObject
	for {
		var obj K8sObject
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj.Kind == "" {
			return nil, fmt.Errorf("%s: a document without a kind", path)
		}
		obj.File = path
		objs = append(objs, obj)
	}
	return objs, nil
}

// Find returns the object of the given kind and name among objs.
func Find(objs []K8sObject, kind, name string) (K8sObject, error) {
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, nil
		}
	}
	return K8sObject{}, fmt.Errorf("no %s %q", kind, name)
}

// ContainerNamed returns the container (init or not) called name.
func (p PodSpec) ContainerNamed(name string) (Container, error) {
	for _, c := range append(append([]Container{}, p.InitContainers...), p.Containers...) {
		if c.Name == name {
			return c, nil
		}
	}
	return Container{}, fmt.Errorf("no container %q", name)
}

// ECSTaskDefinition is the part of an ECS task definition the tests read.
type ECSTaskDefinition struct {
	Family                  string         `json:"family"`
	TaskRoleArn             string         `json:"taskRoleArn"`
	ExecutionRoleArn        string         `json:"executionRoleArn"`
	NetworkMode             string         `json:"networkMode"`
	RequiresCompatibilities []string       `json:"requiresCompatibilities"`
	ContainerDefinitions    []ECSContainer `json:"containerDefinitions"`
}

// ECSContainer is a container definition.
type ECSContainer struct {
	Name        string   `json:"name"`
	Image       string   `json:"image"`
	Essential   bool     `json:"essential"`
	EntryPoint  []string `json:"entryPoint"`
	Command     []string `json:"command"`
	Environment []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"environment"`
	PortMappings []struct {
		ContainerPort int `json:"containerPort"`
	} `json:"portMappings"`
	HealthCheck *struct {
		Command []string `json:"command"`
	} `json:"healthCheck"`
}

// EnvValue returns the value of the variable name and whether the container sets it.
func (c ECSContainer) EnvValue(name string) (string, bool) {
	for _, e := range c.Environment {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// ReadECSTaskDefinition reads a task definition; fields it does not model are ignored.
func ReadECSTaskDefinition(path string) (ECSTaskDefinition, error) {
	var td ECSTaskDefinition
	b, err := os.ReadFile(path)
	if err != nil {
		return td, err
	}
	if err := json.Unmarshal(b, &td); err != nil {
		return td, fmt.Errorf("%s: %w", path, err)
	}
	return td, nil
}

// IAMPolicy is an IAM policy document (identity or trust policy).
type IAMPolicy struct {
	Version   string `json:"Version"`
	Statement []struct {
		Sid       string                       `json:"Sid"`
		Effect    string                       `json:"Effect"`
		Principal map[string]any               `json:"Principal"`
		Action    any                          `json:"Action"`
		Resource  any                          `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition"`
	} `json:"Statement"`
}

// ReadIAMPolicy reads a policy document.
func ReadIAMPolicy(path string) (IAMPolicy, error) {
	var p IAMPolicy
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Strings turns an IAM Action or Resource (a string or a list of them) into a list.
func Strings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// envRef finds the environment variables a collector configuration reads:
// ${env:NAME}, ${env:NAME:-default} and the short form ${NAME}.
var envRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// ConfigEnvVars returns the environment variables that the given collector
// configuration files read, with their defaults ("" when none).
func ConfigEnvVars(paths ...string) (map[string]string, error) {
	vars := map[string]string{}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
			vars[m[1]] = m[2]
		}
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("no ${env:...} reference in %v", paths)
	}
	return vars, nil
}

// AWSSDKEnvVars are the variables of the AWS SDK's default credential and region
// chain, which the SigV4 extension uses: a deployment may set them even where no
// collector configuration reads them.
var AWSSDKEnvVars = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_STS_REGIONAL_ENDPOINTS", "AWS_EC2_METADATA_DISABLED",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
}

// placeholder finds the account-specific placeholders of deploy/: <UPPER_CASE>.
var placeholder = regexp.MustCompile(`<([A-Z][A-Z0-9_]*)>`)

// Placeholders returns the sorted placeholder names used in text.
func Placeholders(text string) []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

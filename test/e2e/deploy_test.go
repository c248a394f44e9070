// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The collector's container in every example, and the folder its configuration
// files are in: the image's own copies, or the ConfigMap mounted over them.
const (
	collectorContainer = "otelcol-dummymetrics"
	configDir          = "/etc/otelcol-dummymetrics"
)

// Environment variables that the shipped configuration does not read but the
// collector does: the AWS SDK's (credentials, region) and the Go runtime's.
var runtimeEnv = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_STS_REGIONAL_ENDPOINTS", "AWS_EC2_METADATA_DISABLED",
	"GOMAXPROCS", "GOMEMLIMIT", "GODEBUG",
}

// eks is one EKS example as kustomize builds it, every object decoded strictly.
type eks struct {
	deployments     []appsv1.Deployment
	statefulSets    []appsv1.StatefulSet
	services        []corev1.Service
	serviceAccounts []corev1.ServiceAccount
	configMaps      map[string]corev1.ConfigMap
}

// buildEKS builds deploy/eks/<example> as `kubectl kustomize --load-restrictor
// LoadRestrictionsNone` does (the ConfigMap is generated from the repository's
// files, outside the folder), and decodes every object into its Kubernetes API
// type as the API server does: a field it does not know, a duplicate or a
// field in the wrong case fails.
func buildEKS(t *testing.T, example string) eks {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	resources, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), shippedConfig(t, filepath.Join("deploy", "eks", example)))
	require.NoError(t, err)
	out := eks{configMaps: map[string]corev1.ConfigMap{}}
	for _, r := range resources.Resources() {
		data, err := r.MarshalJSON()
		require.NoError(t, err)
		var target any
		switch r.GetKind() {
		case "Deployment":
			out.deployments = append(out.deployments, appsv1.Deployment{})
			target = &out.deployments[len(out.deployments)-1]
		case "StatefulSet":
			out.statefulSets = append(out.statefulSets, appsv1.StatefulSet{})
			target = &out.statefulSets[len(out.statefulSets)-1]
		case "Service":
			out.services = append(out.services, corev1.Service{})
			target = &out.services[len(out.services)-1]
		case "ServiceAccount":
			out.serviceAccounts = append(out.serviceAccounts, corev1.ServiceAccount{})
			target = &out.serviceAccounts[len(out.serviceAccounts)-1]
		case "ConfigMap":
			var cm corev1.ConfigMap
			require.NoError(t, decodeStrict(data, &cm), "%s", data)
			out.configMaps[cm.Name] = cm
			continue
		default:
			require.Failf(t, "unexpected kind", "%s %s: the test knows no type for it", r.GetKind(), r.GetName())
		}
		require.NoError(t, decodeStrict(data, target), "%s %s", r.GetKind(), r.GetName())
	}
	return out
}

func decodeStrict(data []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(data, v)
	return errors.Join(append(strict, err)...)
}

// collector returns the collector's container of a pod.
func collector(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == collectorContainer })
	require.GreaterOrEqual(t, i, 0, "no container %s", collectorContainer)
	return pod.Containers[i]
}

// configArgs returns the files of a command line's --config arguments.
func configArgs(t *testing.T, args []string) []string {
	t.Helper()
	var files []string
	for i, a := range args {
		switch {
		case a == "--config":
			require.Less(t, i+1, len(args), "--config without a file")
			files = append(files, args[i+1])
		case strings.HasPrefix(a, "--config="):
			files = append(files, strings.TrimPrefix(a, "--config="))
		case strings.HasPrefix(a, "--feature-gates"):
			t.Errorf("%s: the distribution turns on its feature gates by itself", a)
		}
	}
	require.NotEmpty(t, files, "no --config in %q", args)
	return files
}

// podConfigs returns each file the collector's --config arguments name with the
// contents the pod sees there: the key of the ConfigMap mounted at its folder.
func podConfigs(t *testing.T, pod corev1.PodSpec, c corev1.Container, cms map[string]corev1.ConfigMap) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range configArgs(t, c.Args) {
		i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return path.Clean(m.MountPath) == path.Dir(file) })
		require.GreaterOrEqual(t, i, 0, "%s: nothing is mounted at %s", file, path.Dir(file))
		j := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
		require.GreaterOrEqual(t, j, 0, "no volume %s", c.VolumeMounts[i].Name)
		require.NotNil(t, pod.Volumes[j].ConfigMap, "volume %s is not a ConfigMap", pod.Volumes[j].Name)
		cm, ok := cms[pod.Volumes[j].ConfigMap.Name]
		require.True(t, ok, "volume %s names a ConfigMap the build does not make: %s", pod.Volumes[j].Name, pod.Volumes[j].ConfigMap.Name)
		require.Empty(t, pod.Volumes[j].ConfigMap.Items, "every key of the ConfigMap is a file")
		out[file], ok = cm.Data[path.Base(file)]
		require.True(t, ok, "%s: ConfigMap %s has no key %s", file, cm.Name, path.Base(file))
	}
	return out
}

// readEnv returns the variables the configuration files read (envRef of
// exposure_test.go), with their defaults.
func readEnv(configs ...string) map[string]string {
	out := map[string]string{}
	for _, text := range configs {
		for _, m := range envRef.FindAllStringSubmatch(text, -1) {
			if _, seen := out[m[1]]; !seen {
				out[m[1]] = m[2]
			}
		}
	}
	return out
}

// checkEnv checks a collector's environment (name to value, "" when set from
// elsewhere) against what its configuration files read: every variable is read
// (a misspelt one would silently do nothing), GENERATOR_PARALLELISM divides
// GENERATOR_INSTANCES, and the grace period covers the longest stop on cpus.
func checkEnv(t *testing.T, where string, env, defaults map[string]string, cpus int, grace time.Duration) {
	t.Helper()
	for name := range env {
		_, read := defaults[name]
		assert.True(t, read || slices.Contains(runtimeEnv, name), "%s sets %s, which no configuration file it runs reads", where, name)
	}
	setting := func(name string) string {
		if v, ok := env[name]; ok {
			return v
		}
		v, ok := defaults[name]
		require.True(t, ok, "the configuration reads no %s", name)
		return v
	}
	instances, err := strconv.Atoi(setting("GENERATOR_INSTANCES"))
	require.NoError(t, err)
	parallelism, err := strconv.Atoi(setting("GENERATOR_PARALLELISM"))
	require.NoError(t, err)
	assert.Zero(t, instances%parallelism, "%s: GENERATOR_PARALLELISM must divide GENERATOR_INSTANCES", where)

	bound := stopBound(t, cpus, parallelism, setting)
	assert.GreaterOrEqual(t, grace, bound, "%s: the grace period must cover the longest stop on %d CPUs (docs/counters.md)", where, cpus)
}

// stopBound is the longest a stop takes (docs/counters.md, "How long a stop takes").
func stopBound(t *testing.T, cpus, parallelism int, setting func(string) string) time.Duration {
	t.Helper()
	duration := func(name string) time.Duration {
		d, err := time.ParseDuration(setting(name))
		require.NoError(t, err, name)
		return d
	}
	number := func(name string) int {
		n, err := strconv.Atoi(setting(name))
		require.NoError(t, err, name)
		return n
	}
	if queue, _ := strconv.ParseBool(setting("SINK_QUEUE_ENABLED")); queue {
		return time.Duration(number("SINK_QUEUE_SIZE")+1) * duration("SINK_REQUEST_TIMEOUT")
	}
	retry := duration("SINK_MAX_RETRY_TIME")
	require.Positive(t, retry, "SINK_MAX_RETRY_TIME=0 retries forever: no grace period is long enough")
	const payload = 4096 // the most samples the receiver emits at once
	batch := number("SINK_BATCH_SIZE")
	batches := 1 + int(math.Ceil(float64(batch-1+(cpus+parallelism)*payload)/float64(batch)))
	return time.Duration(batches) * retry
}

// docsCPUs is the CPU count of the hosts docs/deploy.md sizes the EKS examples for.
func docsCPUs(t *testing.T) int {
	t.Helper()
	docs, err := os.ReadFile(shippedConfig(t, "docs/deploy.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`nodes of up to (\d+) vCPUs`).FindSubmatch(docs)
	require.NotNil(t, m, "docs/deploy.md names the EKS nodes the grace periods are for: nodes of up to N vCPUs")
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return n
}

// checkPod checks the collector of a pod template.
func checkPod(t *testing.T, where string, pod corev1.PodSpec, out eks) corev1.Container {
	t.Helper()
	c := collector(t, pod)
	configs := podConfigs(t, pod, c, out.configMaps)
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	require.NotNil(t, pod.TerminationGracePeriodSeconds, "%s: grace period", where)
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	checkEnv(t, where, env, readEnv(slices.Collect(maps.Values(configs))...), docsCPUs(t), grace)
	assert.True(t, slices.ContainsFunc(out.serviceAccounts, func(sa corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName }),
		"%s: service account %q is not in the build", where, pod.ServiceAccountName)
	return c
}

func TestDeployEKS(t *testing.T) {
	for _, example := range []string{"sidecar", "scale-out"} {
		t.Run(example, func(t *testing.T) {
			out := buildEKS(t, example)

			// One ConfigMap, holding exactly the shipped files: the generator reads them.
			require.Len(t, out.configMaps, 1)
			for _, cm := range out.configMaps {
				shipped := []string{"collector-config.yaml", "collector-config-amp.yaml"}
				assert.ElementsMatch(t, shipped, slices.Collect(maps.Keys(cm.Data)), "ConfigMap %s", cm.Name)
				for _, name := range shipped {
					b, err := os.ReadFile(shippedConfig(t, name))
					require.NoError(t, err)
					assert.True(t, cm.Data[name] == string(b), "ConfigMap %s: %s differs from the repository's", cm.Name, name)
				}
				assert.Regexp(t, `^otelcol-dummymetrics-config-[a-z0-9]+$`, cm.Name, "the name carries the contents' hash, so that pods roll on a change")
			}

			switch example {
			case "sidecar":
				require.Len(t, out.deployments, 1)
				require.Empty(t, out.statefulSets)
				d := out.deployments[0]
				require.NotNil(t, d.Spec.Replicas)
				assert.Equal(t, int32(1), *d.Spec.Replicas, "replicas of one Deployment write the same series")
				assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "a rollout stops the old pod before it starts the new one")
				c := checkPod(t, "Deployment "+d.Name, d.Spec.Template.Spec, out)
				assert.False(t, slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GENERATOR_REPLICA_INDEX" }))
			case "scale-out":
				require.Len(t, out.statefulSets, 1)
				require.Empty(t, out.deployments)
				s := out.statefulSets[0]
				assert.Equal(t, appsv1.ParallelPodManagement, s.Spec.PodManagementPolicy)
				assert.Contains(t, []appsv1.StatefulSetUpdateStrategyType{"", appsv1.RollingUpdateStatefulSetStrategyType}, s.Spec.UpdateStrategy.Type,
					"a rolling update stops a pod before it starts its successor of the same name")
				assert.Empty(t, s.Spec.Template.Spec.InitContainers, "the receiver computes its instances itself")
				c := checkPod(t, "StatefulSet "+s.Name, s.Spec.Template.Spec, out)
				assert.Contains(t, c.Env, corev1.EnvVar{Name: "GENERATOR_REPLICA_INDEX", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
				}}, "the replica index is the pod's name, otelcol-dummymetrics-<ordinal>")
				i := slices.IndexFunc(out.services, func(svc corev1.Service) bool { return svc.Name == s.Spec.ServiceName })
				require.GreaterOrEqual(t, i, 0, "the governing service %s is in the build", s.Spec.ServiceName)
				assert.Equal(t, corev1.ClusterIPNone, out.services[i].Spec.ClusterIP, "headless")
			}
		})
	}
}

// decodeAWS decodes an AWS CLI input file (--cli-input-json) strictly into the
// SDK's input type: every key must be a field of the API, in the right case.
func decodeAWS(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(shippedConfig(t, file))
	require.NoError(t, err)
	var raw any
	require.NoError(t, json.Unmarshal(data, &raw), file)
	require.NoError(t, awsKeys("", raw, reflect.TypeOf(v)), file)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), file)
}

// awsKeys checks that each key of a JSON value names a field of t: the SDK's
// field names are the API's with a capital first letter.
func awsKeys(at string, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs []error
	switch v := v.(type) {
	case map[string]any:
		for key, e := range v {
			switch {
			case t.Kind() == reflect.Map:
				errs = append(errs, awsKeys(at+"."+key, e, t.Elem()))
			case t.Kind() != reflect.Struct || key == "":
				errs = append(errs, fmt.Errorf("%s: an object where the API has %s", at, t))
			default:
				f, ok := t.FieldByName(strings.ToUpper(key[:1]) + key[1:])
				if !ok || !f.IsExported() {
					errs = append(errs, fmt.Errorf("%s.%s: no such field in %s", at, key, t.Name()))
					continue
				}
				errs = append(errs, awsKeys(at+"."+key, e, f.Type))
			}
		}
	case []any:
		for i, e := range v {
			errs = append(errs, awsKeys(fmt.Sprintf("%s[%d]", at, i), e, t.Elem()))
		}
	}
	return errors.Join(errs...)
}

func TestDeployECS(t *testing.T) {
	var task ecs.RegisterTaskDefinitionInput
	decodeAWS(t, "deploy/ecs/task-definition.json", &task)
	var service ecs.CreateServiceInput
	decodeAWS(t, "deploy/ecs/service.json", &service)

	// The collector's configuration files are the image's, the shipped ones.
	i := slices.IndexFunc(task.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return c.Name != nil && *c.Name == collectorContainer })
	require.GreaterOrEqual(t, i, 0, "no container %s", collectorContainer)
	c := task.ContainerDefinitions[i]
	var configs []string
	for _, file := range configArgs(t, c.Command) {
		require.Equal(t, configDir, path.Dir(file), "the image keeps its configuration files in %s", configDir)
		b, err := os.ReadFile(shippedConfig(t, path.Base(file)))
		require.NoError(t, err, "the image has no %s", file)
		configs = append(configs, string(b))
	}
	env := map[string]string{}
	for _, kv := range c.Environment {
		require.NotNil(t, kv.Name)
		env[*kv.Name] = ""
		if kv.Value != nil {
			env[*kv.Name] = *kv.Value
		}
	}

	// Fargate gives the task its vCPUs (1024 units each); it allows stopTimeout up to 120 s.
	require.NotNil(t, task.Cpu)
	units, err := strconv.Atoi(*task.Cpu)
	require.NoError(t, err)
	require.NotNil(t, c.StopTimeout, "the default stopTimeout, 30 s, is not stated")
	assert.LessOrEqual(t, *c.StopTimeout, int32(120), "Fargate's largest stopTimeout")
	checkEnv(t, "ECS task "+*task.Family, env, readEnv(configs...), units/1024, time.Duration(*c.StopTimeout)*time.Second)

	// One task, stopped before its successor starts.
	require.NotNil(t, service.TaskDefinition)
	assert.Equal(t, *task.Family, *service.TaskDefinition)
	require.NotNil(t, service.DesiredCount)
	assert.Equal(t, int32(1), *service.DesiredCount, "tasks of one service write the same series")
	require.NotNil(t, service.DeploymentConfiguration)
	dc := service.DeploymentConfiguration
	require.NotNil(t, dc.MinimumHealthyPercent)
	require.NotNil(t, dc.MaximumPercent)
	assert.Equal(t, int32(0), *dc.MinimumHealthyPercent, "a deployment may stop the old task first")
	assert.Equal(t, int32(100), *dc.MaximumPercent, "a deployment never runs the new task next to the old one")
}

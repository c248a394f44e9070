// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/deployspec"
)

// collectorContainer is what the tests check of a container that runs the image,
// whether it comes from a Kubernetes manifest or an ECS task definition.
type collectorContainer struct {
	where   string // file and container, for messages
	image   string
	command []string // what replaces the ENTRYPOINT (must be empty)
	args    []string // what replaces CMD
	env     map[string]string
}

// configFiles returns the --config files of the container's arguments.
func (c collectorContainer) configFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for i := 0; i < len(c.args); i++ {
		switch a := c.args[i]; {
		case a == "--config" && i+1 < len(c.args):
			files = append(files, c.args[i+1])
			i++
		case strings.HasPrefix(a, "--config="):
			files = append(files, strings.TrimPrefix(a, "--config="))
		default:
			t.Errorf("%s: unexpected argument %q: only --config files belong here (the ENTRYPOINT has the feature gates)", c.where, a)
		}
	}
	return files
}

// isCollectorImage tells whether an image reference is the distribution's image.
func isCollectorImage(ref, name string) bool {
	repoPart, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(repoPart, ":"); i > strings.LastIndex(repoPart, "/") {
		repoPart = repoPart[:i]
	}
	return repoPart == name || strings.HasSuffix(repoPart, "/"+name)
}

// k8sWorkloads returns every Deployment and StatefulSet of deploy/eks.
func k8sWorkloads(t *testing.T) []deployspec.K8sObject {
	t.Helper()
	var out []deployspec.K8sObject
	for _, obj := range k8sObjects(t) {
		if obj.Kind == "Deployment" || obj.Kind == "StatefulSet" {
			require.NotNil(t, obj.Spec.Template, "%s %s has no pod template", obj.Kind, obj.Metadata.Name)
			out = append(out, obj)
		}
	}
	require.NotEmpty(t, out)
	return out
}

func k8sObjects(t *testing.T) []deployspec.K8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), "deploy", "eks", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var objs []deployspec.K8sObject
	for _, f := range files {
		o, err := deployspec.ReadK8s(f)
		require.NoError(t, err)
		objs = append(objs, o...)
	}
	return objs
}

func readTaskDefinition(t *testing.T) deployspec.ECSTaskDefinition {
	t.Helper()
	td, err := deployspec.ReadECSTaskDefinition(filepath.Join(root(t), "deploy", "ecs", "task-definition.json"))
	require.NoError(t, err)
	return td
}

// collectorContainers gathers every container of deploy/ that runs the image.
func collectorContainers(t *testing.T) []collectorContainer {
	t.Helper()
	name := readBuilderConfig(t).Dist.Name
	var out []collectorContainer
	for _, w := range k8sWorkloads(t) {
		for _, c := range w.Spec.Template.Spec.Containers {
			if !isCollectorImage(c.Image, name) {
				continue
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			out = append(out, collectorContainer{
				where: filepath.Base(w.File) + " " + w.Kind + "/" + w.Metadata.Name + " container " + c.Name,
				image: c.Image, command: c.Command, args: c.Args, env: env,
			})
		}
	}
	for _, c := range readTaskDefinition(t).ContainerDefinitions {
		if !isCollectorImage(c.Image, name) {
			continue
		}
		env := map[string]string{}
		for _, e := range c.Environment {
			env[e.Name] = e.Value
		}
		out = append(out, collectorContainer{
			where: "task-definition.json container " + c.Name,
			image: c.Image, command: c.EntryPoint, args: c.Command, env: env,
		})
	}
	require.GreaterOrEqual(t, len(out), 3, "the ECS sidecar, the EKS sidecar and the StatefulSet run the image")
	return out
}

func TestManifestsSetOnlyVariablesTheConfigurationReads(t *testing.T) {
	vars := configEnvVars(t)
	allowed := map[string]bool{}
	for name := range vars {
		allowed[name] = true
	}
	for _, name := range deployspec.AWSSDKEnvVars {
		allowed[name] = true
	}
	for _, c := range collectorContainers(t) {
		require.NotEmpty(t, c.env, "%s sets no variable", c.where)
		for name, value := range c.env {
			assert.True(t, allowed[name], "%s sets %s, which no shipped configuration file reads (nor the AWS SDK)", c.where, name)
			assert.NotEmpty(t, value, "%s: %s is empty", c.where, name)
		}
		// What the receiver will refuse, the manifest must not set.
		get := func(name string) string {
			if v, ok := c.env[name]; ok {
				return v
			}
			return vars[name]
		}
		instances, err1 := strconv.Atoi(get("GENERATOR_INSTANCES"))
		parallelism, err2 := strconv.Atoi(get("GENERATOR_PARALLELISM"))
		if assert.NoError(t, err1, c.where) && assert.NoError(t, err2, c.where) && parallelism > 0 {
			assert.Zero(t, instances%parallelism, "%s: GENERATOR_INSTANCES (%d) must be a multiple of GENERATOR_PARALLELISM (%d)", c.where, instances, parallelism)
		}
	}
}

func TestManifestsRunTheImageAsBuilt(t *testing.T) {
	img := readDockerfile(t)
	cfg := readBuilderConfig(t)
	dir := img.configDir(t)
	port := img.healthPort(t)

	for _, c := range collectorContainers(t) {
		assert.Empty(t, c.command, "%s replaces the ENTRYPOINT, and with it the feature gate: set the arguments only", c.where)
		assert.True(t, strings.HasSuffix(c.image, "/"+cfg.Dist.Name+":"+cfg.Dist.Version),
			"%s: image %s, want <registry>/%s:%s (builder-config.yaml's dist.name and dist.version)", c.where, c.image, cfg.Dist.Name, cfg.Dist.Version)

		configs := c.configFiles(t)
		require.GreaterOrEqual(t, len(configs), 2, "%s: the main configuration and the AMP overlay", c.where)
		assert.Equal(t, path.Join(dir, "collector-config.yaml"), configs[0], "%s: the shipped main configuration comes first", c.where)
		assert.Equal(t, path.Join(dir, "collector-config-amp.yaml"), configs[1], "%s: the AMP overlay signs with SigV4", c.where)
		for _, f := range configs {
			if path.Dir(f) == dir {
				assert.Contains(t, img.files, f, "%s reads %s, which the image does not carry", c.where, f)
			}
		}

		// It writes to AMP, in the region it signs for.
		url := c.env["PROMETHEUS_WRITE_URL"]
		m := regexp.MustCompile(`^https://aps-workspaces\.([^.]+)\.amazonaws\.com/workspaces/([^/]+)/api/v1/remote_write$`).FindStringSubmatch(url)
		require.NotNil(t, m, "%s: PROMETHEUS_WRITE_URL %q is not an AMP remote-write URL", c.where, url)
		assert.Equal(t, m[1], c.env["AWS_REGION"], "%s: AWS_REGION must be the workspace's region", c.where)

		if v, ok := c.env["HEALTH_CHECK_ENDPOINT"]; ok {
			_, p, err := net.SplitHostPort(v)
			require.NoError(t, err)
			assert.Equal(t, port, p, "%s: HEALTH_CHECK_ENDPOINT", c.where)
		}
	}
}

func TestKubernetesWorkloads(t *testing.T) {
	img := readDockerfile(t)
	port, err := strconv.Atoi(img.healthPort(t))
	require.NoError(t, err)
	objs := k8sObjects(t)
	name := readBuilderConfig(t).Dist.Name

	sa, err := deployspec.Find(objs, "ServiceAccount", name)
	require.NoError(t, err)
	roleArn := sa.Metadata.Annotations["eks.amazonaws.com/role-arn"]
	assert.Regexp(t, `^arn:aws:iam::<AWS_ACCOUNT_ID>:role/[\w+=,.@-]+$`, roleArn, "the service account's IRSA annotation")

	for _, w := range k8sWorkloads(t) {
		where := w.Kind + "/" + w.Metadata.Name
		pod := w.Spec.Template.Spec
		require.NotNil(t, w.Spec.Selector, where)
		for k, v := range w.Spec.Selector.MatchLabels {
			assert.Equal(t, v, w.Spec.Template.Metadata.Labels[k], "%s: the selector must match the pod template's labels", where)
		}
		assert.Equal(t, sa.Metadata.Name, pod.ServiceAccountName, "%s: the pods take their AWS role from the IRSA service account", where)
		if w.Kind == "Deployment" {
			// Its replicas share one configuration, so they would all write the same
			// series: only the StatefulSet gives each replica its own instances.
			require.NotNil(t, w.Spec.Replicas, "%s: set replicas: 1 explicitly (the default is 1, but say why)", where)
			assert.Equal(t, 1, *w.Spec.Replicas, "%s: replicas with one GENERATOR_INSTANCE_OFFSET write the same series", where)
		}

		volumes := map[string]deployspec.Volume{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = v
		}
		for _, c := range pod.Containers {
			if !isCollectorImage(c.Image, name) {
				continue
			}
			// The health port is the image's, and the probes use it.
			var health string
			for _, p := range c.Ports {
				if p.ContainerPort == port {
					health = p.Name
				}
			}
			require.NotEmpty(t, health, "%s: the container must declare the image's health port %d", where, port)
			for kind, probe := range map[string]*deployspec.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				require.NotNil(t, probe, "%s: %s probe", where, kind)
				require.NotNil(t, probe.HTTPGet, "%s: %s probe must be an httpGet on the health check", where, kind)
				assert.Contains(t, []any{health, port}, probe.HTTPGet.Port, "%s: %s probe port", where, kind)
			}
			// memory_limiter sizes itself from the container's memory limit.
			limits, _ := c.Resources["limits"].(map[string]any)
			assert.NotEmpty(t, limits["memory"], "%s: a memory limit, for memory_limiter's limit_percentage", where)

			// The configuration folder is the ConfigMap of the shipped files.
			dir := img.configDir(t)
			mounted := false
			for _, m := range c.VolumeMounts {
				if m.MountPath == dir {
					v := volumes[m.Name]
					require.NotNil(t, v.ConfigMap, "%s: %s must be the ConfigMap volume", where, dir)
					assert.Equal(t, configMapName, v.ConfigMap.Name, where)
					mounted = true
				}
			}
			assert.True(t, mounted, "%s: mounts no configuration at %s", where, dir)
		}
	}

	// The headless service of the StatefulSet exposes the health port by name.
	for _, obj := range objs {
		if obj.Kind != "StatefulSet" {
			continue
		}
		svc, err := deployspec.Find(objs, "Service", obj.Spec.ServiceName)
		require.NoError(t, err, "StatefulSet/%s: its serviceName", obj.Metadata.Name)
		assert.Equal(t, "None", svc.Spec.ClusterIP, "a StatefulSet's governing service is headless")
		require.NotEmpty(t, svc.Spec.Ports)
		assert.Equal(t, port, svc.Spec.Ports[0].Port)
	}
}

func TestECSTaskDefinition(t *testing.T) {
	img := readDockerfile(t)
	td := readTaskDefinition(t)
	name := readBuilderConfig(t).Dist.Name

	assert.Regexp(t, `^arn:aws:iam::<AWS_ACCOUNT_ID>:role/[\w+=,.@-]+$`, td.TaskRoleArn, "the task role gives the SigV4 extension its credentials")
	assert.Equal(t, "awsvpc", td.NetworkMode, "the sidecar and the app share the task's network namespace")

	var collector, app int
	for _, c := range td.ContainerDefinitions {
		if !isCollectorImage(c.Image, name) {
			app++
			continue
		}
		collector++
		require.NotNil(t, c.HealthCheck, "the collector container needs a health check")
		cmd := c.HealthCheck.Command
		require.NotEmpty(t, cmd)
		assert.Equal(t, "CMD", cmd[0], "CMD-SHELL needs a shell, which the image does not have")
		if len(cmd) > 1 {
			assert.Contains(t, img.files, cmd[1], "the health check runs %s, which the image does not carry", cmd[1])
		}
		assert.Empty(t, c.PortMappings, "the health check runs inside the container: no port needs publishing")
	}
	assert.Equal(t, 1, collector, "one collector sidecar")
	assert.GreaterOrEqual(t, app, 1, "next to an application container")
}

func TestIAMPolicies(t *testing.T) {
	dir := filepath.Join(root(t), "deploy")
	policy, err := deployspec.ReadIAMPolicy(filepath.Join(dir, "ecs", "remote-write-policy.json"))
	require.NoError(t, err)
	require.Len(t, policy.Statement, 1)
	st := policy.Statement[0]
	assert.Equal(t, "Allow", st.Effect)
	assert.Equal(t, []string{"aps:RemoteWrite"}, deployspec.Strings(st.Action), "remote write and nothing else")
	resources := deployspec.Strings(st.Resource)
	require.Len(t, resources, 1, "one workspace")

	// The workspace every container writes to is the one the policy allows.
	for _, c := range collectorContainers(t) {
		m := regexp.MustCompile(`^https://aps-workspaces\.([^.]+)\.amazonaws\.com/workspaces/([^/]+)/`).FindStringSubmatch(c.env["PROMETHEUS_WRITE_URL"])
		require.NotNil(t, m, c.where)
		assert.Equal(t, "arn:aws:aps:"+m[1]+":<AWS_ACCOUNT_ID>:workspace/"+m[2], resources[0],
			"%s writes to a workspace the policy does not allow", c.where)
	}

	ecsTrust, err := deployspec.ReadIAMPolicy(filepath.Join(dir, "ecs", "task-role-trust-policy.json"))
	require.NoError(t, err)
	require.Len(t, ecsTrust.Statement, 1)
	assert.Equal(t, "ecs-tasks.amazonaws.com", ecsTrust.Statement[0].Principal["Service"])
	assert.Equal(t, []string{"sts:AssumeRole"}, deployspec.Strings(ecsTrust.Statement[0].Action))

	irsa, err := deployspec.ReadIAMPolicy(filepath.Join(dir, "eks", "irsa-trust-policy.json"))
	require.NoError(t, err)
	require.Len(t, irsa.Statement, 1)
	assert.Equal(t, []string{"sts:AssumeRoleWithWebIdentity"}, deployspec.Strings(irsa.Statement[0].Action))
	federated, _ := irsa.Statement[0].Principal["Federated"].(string)
	issuer := strings.TrimPrefix(federated, "arn:aws:iam::<AWS_ACCOUNT_ID>:oidc-provider/")
	require.NotEqual(t, federated, issuer, "the principal is the cluster's OIDC provider")
	sa, err := deployspec.Find(k8sObjects(t), "ServiceAccount", readBuilderConfig(t).Dist.Name)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		issuer + ":sub": "system:serviceaccount:<NAMESPACE>:" + sa.Metadata.Name,
		issuer + ":aud": "sts.amazonaws.com",
	}, irsa.Statement[0].Condition["StringEquals"], "only the collector's service account may take the role")
}

func TestPlaceholdersAreDocumented(t *testing.T) {
	docs := readRepoFile(t, "docs", "deploy.md")
	var used []string
	err := filepath.WalkDir(filepath.Join(root(t), "deploy"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".json" && filepath.Ext(p) != ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, name := range deployspec.Placeholders(string(b)) {
			if !slices.Contains(used, name) {
				used = append(used, name)
			}
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(used)
	assert.Subset(t, used, []string{"AWS_ACCOUNT_ID", "AWS_REGION", "WORKSPACE_ID"})
	for _, name := range used {
		assertMentions(t, docs, "docs/deploy.md", "`<"+name+">`", "and explain every placeholder")
	}
}

// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampload/otelcol-dummymetrics/internal/collectorproc"
)

// image is what the Dockerfile builds, as read from its instructions.
type image struct {
	stages []instructions.Stage
	// In the final stage:
	entrypoint, cmd []string
	user            string
	env             map[string]string
	expose          []string
	// files maps each file the final stage copies in to its source: "context:PATH"
	// for the build context, "STAGE:PATH" for an earlier stage.
	files map[string]string
}

// copied is one source of a COPY instruction and where it lands.
type copied struct {
	from, src, dest string
}

// copies resolves the COPY instructions of a stage: each source with its absolute
// destination (WORKDIR applied, a folder destination joined with the source's name).
func copies(stage instructions.Stage) []copied {
	var out []copied
	workdir := "/"
	for _, cmd := range stage.Commands {
		switch c := cmd.(type) {
		case *instructions.WorkdirCommand:
			workdir = path.Join(workdir, c.Path)
		case *instructions.CopyCommand:
			dest := c.DestPath
			if !path.IsAbs(dest) {
				dest = path.Join(workdir, dest)
			}
			toFolder := strings.HasSuffix(c.DestPath, "/") || c.DestPath == "." || len(c.SourcePaths) > 1
			for _, src := range c.SourcePaths {
				d := dest
				if toFolder && !strings.HasSuffix(src, "/") {
					d = path.Join(dest, path.Base(src))
				}
				out = append(out, copied{from: c.From, src: src, dest: d})
			}
		}
	}
	return out
}

// workdirOf is the WORKDIR a stage ends with.
func workdirOf(stage instructions.Stage) string {
	workdir := "/"
	for _, cmd := range stage.Commands {
		if c, ok := cmd.(*instructions.WorkdirCommand); ok {
			workdir = path.Join(workdir, c.Path)
		}
	}
	return workdir
}

// runLines are the command lines of a stage's RUN instructions.
func runLines(stage instructions.Stage) []string {
	var lines []string
	for _, cmd := range stage.Commands {
		if c, ok := cmd.(*instructions.RunCommand); ok {
			lines = append(lines, strings.Join(c.CmdLine, " "))
		}
	}
	return lines
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	f, err := os.Open(filepath.Join(root(t), "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	res, err := parser.Parse(f)
	require.NoError(t, err, "Dockerfile")
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s", w.Short)
	}
	var lint []string
	linterCfg := &linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) {
		lint = append(lint, rule+": "+msg)
	}}
	stages, _, err := instructions.Parse(res.AST, linter.New(linterCfg))
	require.NoError(t, err, "Dockerfile")
	assert.Empty(t, lint, "BuildKit's lint rules")
	require.NotEmpty(t, stages)

	img := image{stages: stages, env: map[string]string{}, files: map[string]string{}}
	final := stages[len(stages)-1]
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.EntrypointCommand:
			require.False(t, c.PrependShell, "ENTRYPOINT must be in exec form: the image has no shell")
			img.entrypoint = c.CmdLine
		case *instructions.CmdCommand:
			require.False(t, c.PrependShell, "CMD must be in exec form: the image has no shell")
			img.cmd = c.CmdLine
		case *instructions.UserCommand:
			img.user = c.User
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				img.env[kv.Key] = kv.Value
			}
		case *instructions.ExposeCommand:
			img.expose = append(img.expose, c.Ports...)
		}
	}
	for _, c := range copies(final) {
		if c.from == "" {
			img.files[c.dest] = "context:" + c.src
		} else {
			img.files[c.dest] = c.from + ":" + c.src
		}
	}
	return img
}

// stageNamed returns the stage called name among the first n stages.
func (img image) stageNamed(name string, n int) (instructions.Stage, bool) {
	for _, s := range img.stages[:n] {
		if s.Name == name {
			return s, true
		}
	}
	return instructions.Stage{}, false
}

// configDir is the folder where the image keeps the shipped configuration files:
// the folder of the collector-config.yaml that the final stage copies in.
func (img image) configDir(t *testing.T) string {
	t.Helper()
	for dest, src := range img.files {
		if src == "context:collector-config.yaml" {
			return path.Dir(dest)
		}
	}
	t.Fatal("the final stage does not copy collector-config.yaml from the build context")
	return ""
}

// healthPort is the port of the image's HEALTH_CHECK_ENDPOINT.
func (img image) healthPort(t *testing.T) string {
	t.Helper()
	endpoint, ok := img.env["HEALTH_CHECK_ENDPOINT"]
	require.True(t, ok, "the image sets no HEALTH_CHECK_ENDPOINT")
	host, port, err := net.SplitHostPort(endpoint)
	require.NoError(t, err, "HEALTH_CHECK_ENDPOINT")
	require.Equal(t, "0.0.0.0", host, "HEALTH_CHECK_ENDPOINT must listen on every interface of the container, for the orchestrator's probes")
	return port
}

func TestDockerfileFinalStageIsStaticAndNonRoot(t *testing.T) {
	img := readDockerfile(t)
	final := img.stages[len(img.stages)-1]
	assert.Regexp(t, `^gcr\.io/distroless/static-debian\d+:nonroot$`, final.BaseName,
		"a minimal static base image with CA certificates and a nonroot user")
	require.NotEmpty(t, img.user, "the final stage must set USER explicitly")
	uid, gid, _ := strings.Cut(img.user, ":")
	for what, id := range map[string]string{"user": uid, "group": gid} {
		if id == "" && what == "group" {
			continue
		}
		assert.NotContains(t, []string{"root", "0", ""}, id, "USER %s: the %s must not be root", img.user, what)
		if n, err := strconv.Atoi(id); err == nil {
			assert.NotZero(t, n, "USER %s", img.user)
		}
	}
	// Kubernetes' runAsNonRoot can verify only a numeric user.
	_, err := strconv.Atoi(uid)
	assert.NoError(t, err, "USER %s: a numeric uid, so that runAsNonRoot can verify it", img.user)
}

func TestDockerfileCopySourcesExist(t *testing.T) {
	img := readDockerfile(t)
	cfg := readBuilderConfig(t)
	dir := root(t)

	ignore, err := os.Open(filepath.Join(dir, ".dockerignore"))
	require.NoError(t, err, "a .dockerignore keeps the build context small")
	patterns, err := ignorefile.ReadAll(ignore)
	ignore.Close()
	require.NoError(t, err)
	matcher, err := patternmatcher.New(patterns)
	require.NoError(t, err)
	excluded := func(rel string) bool {
		ex, err := matcher.MatchesOrParentMatches(filepath.ToSlash(rel))
		require.NoError(t, err)
		return ex
	}

	for i, stage := range img.stages {
		produced := produces(stage, cfg)
		if i == len(img.stages)-1 {
			assert.Empty(t, produced, "the final stage builds nothing: it has no Go and no shell")
		}

		for _, c := range copies(stage) {
			if c.from != "" {
				from, ok := img.stageNamed(c.from, i)
				require.True(t, ok, "COPY --from=%s %s: no earlier stage %q", c.from, c.src, c.from)
				assert.True(t, produces(from, cfg)[path.Clean(c.src)],
					"COPY --from=%s %s: that stage produces no such file (ocb writes %s/%s under its WORKDIR, per builder-config.yaml)",
					c.from, c.src, cfg.Dist.OutputPath, cfg.Dist.Name)
				continue
			}
			src := filepath.Join(dir, filepath.FromSlash(c.src))
			info, err := os.Stat(src)
			require.NoError(t, err, "COPY %s: not in the repository", c.src)
			rel := filepath.Clean(c.src)
			assert.False(t, excluded(rel), "COPY %s: excluded by .dockerignore", c.src)
			if info.IsDir() {
				// Everything a Go build needs from the folder must be in the context.
				walkErr := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					name := d.Name()
					if name == "go.mod" || name == "go.sum" || (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) {
						r, _ := filepath.Rel(dir, p)
						assert.False(t, excluded(r), "%s is needed by the build but excluded by .dockerignore", r)
					}
					return nil
				})
				require.NoError(t, walkErr)
			}
		}
	}

	// The build stage has the ocb manifest and every local component it names by path.
	build, ok := img.stageNamed(stageOfBinary(t, img, cfg), len(img.stages))
	require.True(t, ok)
	inContext := map[string]string{} // destination -> context source
	for _, c := range copies(build) {
		if c.from == "" {
			inContext[c.dest] = c.src
		}
	}
	workdir := workdirOf(build)
	assert.Equal(t, "builder-config.yaml", inContext[path.Join(workdir, "builder-config.yaml")],
		"the build stage must copy builder-config.yaml into its WORKDIR (%s), where ocb runs", workdir)
	for _, p := range cfg.localPaths() {
		want := path.Join(workdir, p)
		found := false
		for dest, src := range inContext {
			if (want == dest || strings.HasPrefix(want, strings.TrimSuffix(dest, "/")+"/")) &&
				path.Clean(src) == path.Clean(strings.TrimPrefix(dest, workdir+"/")) {
				found = true
			}
		}
		assert.True(t, found, "builder-config.yaml names %s by path: the build stage must copy it to %s", p, want)
	}
}

// ocbRun finds the ocb invocation of a RUN instruction.
var ocbRun = regexp.MustCompile(`(^|\s)builder --config builder-config\.yaml(\s|$)`)

// goBuildOutput finds the -o flags of a RUN instruction.
var goBuildOutput = regexp.MustCompile(`\s-o\s+(\S+)`)

// produces returns the files that the RUN instructions of a stage produce: ocb's
// output (dist.output_path/dist.name under the WORKDIR) and go build -o files.
func produces(stage instructions.Stage, cfg builderConfig) map[string]bool {
	produced := map[string]bool{}
	workdir := workdirOf(stage)
	for _, line := range runLines(stage) {
		if ocbRun.MatchString(line) {
			produced[path.Join(workdir, cfg.Dist.OutputPath, cfg.Dist.Name)] = true
		}
		for _, m := range goBuildOutput.FindAllStringSubmatch(line, -1) {
			out := m[1]
			if !path.IsAbs(out) {
				out = path.Join(workdir, out)
			}
			produced[out] = true
		}
	}
	return produced
}

// stageOfBinary returns the name of the stage the final stage takes the collector from.
func stageOfBinary(t *testing.T, img image, cfg builderConfig) string {
	t.Helper()
	for _, src := range img.files {
		from, p, _ := strings.Cut(src, ":")
		if from != "context" && path.Base(p) == cfg.Dist.Name {
			return from
		}
	}
	t.Fatalf("the final stage copies no %s from a build stage", cfg.Dist.Name)
	return ""
}

func TestDockerfileBinaryAndConfigPaths(t *testing.T) {
	img := readDockerfile(t)
	cfg := readBuilderConfig(t)

	require.NotEmpty(t, img.entrypoint, "ENTRYPOINT")
	binary := img.entrypoint[0]
	assert.Equal(t, cfg.Dist.Name, path.Base(binary), "the ENTRYPOINT runs the binary named by builder-config.yaml's dist.name")
	build := stageOfBinary(t, img, cfg)
	stage, _ := img.stageNamed(build, len(img.stages))
	wantSrc := build + ":" + path.Join(workdirOf(stage), cfg.Dist.OutputPath, cfg.Dist.Name)
	assert.Equal(t, wantSrc, img.files[binary],
		"the ENTRYPOINT's %s must be ocb's output (dist.output_path/dist.name under the build stage's WORKDIR)", binary)

	// Every shipped configuration file is in the image, in one folder, and CMD uses it.
	dir := img.configDir(t)
	for _, name := range shippedConfigs(t) {
		assert.Equal(t, "context:"+name, img.files[path.Join(dir, name)], "the image must carry %s in %s", name, dir)
	}
	assert.Equal(t, []string{"--config", path.Join(dir, "collector-config.yaml")}, img.cmd,
		"CMD runs the shipped main configuration")

	// The docs name the same paths.
	docs := readRepoFile(t, "docs", "deploy.md")
	assertMentions(t, docs, "docs/deploy.md", dir+"/", "the configuration folder")
	assertMentions(t, docs, "docs/deploy.md", "`"+binary+"`", "the binary's path")
	assertMentions(t, docs, "docs/deploy.md", cfg.Dist.Name+":"+cfg.Dist.Version, "the image with the distribution's version")
	assertMentions(t, readRepoFile(t, "README.md"), "README.md", "docs/deploy.md", "a link to the deployment guide")
}

func TestDockerfileVersionsMatchRepository(t *testing.T) {
	img := readDockerfile(t)
	cfg := readBuilderConfig(t)
	build, _ := img.stageNamed(stageOfBinary(t, img, cfg), len(img.stages))

	// Go: the build stage's golang image is go.mod's Go.
	m := regexp.MustCompile(`^golang:(\d+\.\d+)(?:[.-].*)?$`).FindStringSubmatch(build.BaseName)
	require.NotNil(t, m, "the build stage must start from an official golang:<version> image, not %q", build.BaseName)
	assert.Equal(t, goMinor(t), m[1], "the golang image's Go must be go.mod's go directive")
	assertMentions(t, readRepoFile(t, "docs", "deploy.md"), "docs/deploy.md", "golang:"+m[1], "the build image")
	// Wherever the README names the Go version, it is the same.
	for _, v := range regexp.MustCompile(`\bGo (\d+\.\d+)\b`).FindAllStringSubmatch(readRepoFile(t, "README.md"), -1) {
		assert.Equal(t, m[1], v[1], "README.md names Go %s, the image builds with Go %s", v[1], m[1])
	}

	// ocb: the Makefile's OCB_VERSION, installed from its module.
	ocbVersion := makeVar(t, "OCB_VERSION")
	var argDefault string
	for _, cmd := range build.Commands {
		if c, ok := cmd.(*instructions.ArgCommand); ok {
			for _, a := range c.Args {
				if a.Key == "OCB_VERSION" && a.Value != nil {
					argDefault = *a.Value
				}
			}
		}
	}
	assert.Equal(t, ocbVersion, argDefault, "the build stage's ARG OCB_VERSION must default to the Makefile's OCB_VERSION")
	installs := false
	for _, line := range runLines(build) {
		if strings.Contains(line, "go install go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}") ||
			strings.Contains(line, "go install go.opentelemetry.io/collector/cmd/builder@"+ocbVersion) {
			installs = true
		}
	}
	assert.True(t, installs, "the build stage must go install ocb (go.opentelemetry.io/collector/cmd/builder) at OCB_VERSION")

	// The 429-retry feature gate, as in the Makefile and every shipped way of running.
	gates := makeVar(t, "FEATURE_GATES")
	assert.Equal(t, collectorproc.ShippedFeatureGates, gates)
	assert.Contains(t, img.entrypoint, "--feature-gates="+gates,
		"the ENTRYPOINT (which a task's or pod's command does not replace) must turn the Makefile's FEATURE_GATES on")
}

func TestDockerfileHealthCheckEndpoint(t *testing.T) {
	img := readDockerfile(t)
	port := img.healthPort(t)

	exposed := false
	for _, p := range img.expose {
		if p == port || p == port+"/tcp" {
			exposed = true
		}
	}
	assert.True(t, exposed, "EXPOSE must include the health check port %s (EXPOSE %v)", port, img.expose)

	def, ok := configEnvVars(t)["HEALTH_CHECK_ENDPOINT"]
	require.True(t, ok, "collector-config.yaml reads HEALTH_CHECK_ENDPOINT")
	_, defPort, err := net.SplitHostPort(def)
	require.NoError(t, err)
	assert.Equal(t, defPort, port, "the image moves the health check to every interface, not to another port")

	// Only the health check leaves loopback: profiles, telemetry and zPages stay local.
	for _, name := range []string{"PPROF_ENDPOINT", "TELEMETRY_HOST", "ZPAGES_ENDPOINT"} {
		if v, set := img.env[name]; set {
			assert.NotContains(t, v, "0.0.0.0", "the image must not open %s to the network", name)
		}
	}

	// The probe for command-based health checks is in the image.
	assert.Contains(t, img.files, "/healthcheck", "the final stage must carry the health probe /healthcheck (cmd/healthcheck)")
}

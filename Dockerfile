# Container image of the otelcol-dummymetrics distribution: `make docker`, which
# passes the versions it pins (Go from go.mod, ocb from the Makefile) as build
# arguments. docs/deploy.md describes the image and how to run it on ECS and EKS.

# --- build: the distribution, with the pinned ocb, from builder-config.yaml ------
ARG GO_VERSION
FROM golang:${GO_VERSION} AS build
# Behind a corporate module proxy: make docker DOCKER_FLAGS='--build-arg GOPROXY=https://...'
# (a build argument is in the environment of every RUN below; empty means Go's default).
ARG GOPROXY
ARG OCB_VERSION
WORKDIR /src
RUN test -n "$OCB_VERSION" || { echo "build with make docker, which passes OCB_VERSION" >&2; exit 1; }
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod \
    go install go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}
# Only what ocb needs: the manifest and the local modules it names by path.
COPY builder-config.yaml ./
COPY receiver/ ./receiver/
COPY distribution/ ./distribution/
# ocb builds with CGO_ENABLED=0: a static binary, for the static base image below.
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod \
    builder --config builder-config.yaml
# The health probe for command-based container health checks (ECS): the base
# image has no shell, curl or wget. One standard-library file, built without a module.
COPY cmd/healthcheck/main.go ./healthcheck/main.go
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /src/_build/healthcheck ./healthcheck/main.go

# --- the image: static, distroless, non-root -------------------------------------
# Carries CA certificates (/etc/ssl/certs) for HTTPS to AMP and the AWS STS/IMDS
# endpoints, tzdata, and a nonroot user (uid 65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/_build/otelcol-dummymetrics /otelcol-dummymetrics
COPY --from=build /src/_build/healthcheck /healthcheck
# The shipped configuration files, unchanged. Select the AMP overlay with the
# command: --config /etc/otelcol-dummymetrics/collector-config.yaml
#          --config /etc/otelcol-dummymetrics/collector-config-amp.yaml
COPY collector-config.yaml collector-config-amp.yaml collector-config-zpages.yaml /etc/otelcol-dummymetrics/
# The health check listens on every interface inside the container, so that the
# orchestrator's probes (a Kubernetes httpGet probe comes from the kubelet, over
# the pod's IP) reach it. It tells only whether the collector runs. The telemetry,
# pprof and zPages endpoints stay on 127.0.0.1: they expose profiles and internals,
# and are opened deliberately with TELEMETRY_HOST, PPROF_ENDPOINT, ZPAGES_ENDPOINT.
ENV HEALTH_CHECK_ENDPOINT=0.0.0.0:13133
EXPOSE 13133
USER 65532:65532
# The distribution turns its feature gates on by itself (distribution/distribution.go).
ENTRYPOINT ["/otelcol-dummymetrics"]
CMD ["--config", "/etc/otelcol-dummymetrics/collector-config.yaml"]

# Container image of the otelcol-dummymetrics distribution: `make docker`, or
#   docker build -t otelcol-dummymetrics:0.1.0 .
# docs/deploy.md describes the image and how to run it on ECS and EKS;
# deploy/dockerfile_test.go checks this file against builder-config.yaml, go.mod
# and the Makefile.

# --- build: the distribution, with the pinned ocb, from builder-config.yaml ------
# Go as in go.mod's go directive.
FROM golang:1.26 AS build
# Behind a corporate module proxy: docker build --build-arg GOPROXY=https://... .
# (a build argument is in the environment of every RUN below; empty means Go's default).
ARG GOPROXY
# As the Makefile's OCB_VERSION.
ARG OCB_VERSION=v0.165.0
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod \
    go install go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}
# Only what ocb needs: the manifest and the local receiver it names by path.
COPY builder-config.yaml ./
COPY receiver/ ./receiver/
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
# The feature gate is the Makefile's FEATURE_GATES: 429 answers are retried. It sits
# in the ENTRYPOINT so that a task's or pod's command, which replaces CMD, keeps it.
ENTRYPOINT ["/otelcol-dummymetrics", "--feature-gates=exporter.prometheusremotewritexporter.RetryOn429"]
CMD ["--config", "/etc/otelcol-dummymetrics/collector-config.yaml"]

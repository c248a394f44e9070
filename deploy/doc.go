// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

// Package deploy holds the deployment examples: ecs/ (an ECS task definition with
// the collector as a sidecar, and its IAM policies) and eks/ (a Deployment with the
// collector as a sidecar, a StatefulSet for scale-out, their ConfigMap and IRSA
// service account). docs/deploy.md explains them.
//
// Its tests parse the repository's Dockerfile with BuildKit's own parser and every
// manifest, and check them against the repository: the ocb manifest, go.mod, the
// Makefile's pins and the shipped collector configuration files.
package deploy

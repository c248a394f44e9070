// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package runner

// ReadBack is what the backend's query API says the run stored.
type ReadBack struct {
	SentSamples    float64 `json:"sent_samples"`
	StoredSamples  float64 `json:"stored_samples"`
	MissingSamples float64 `json:"missing_samples"`
	SeriesExpected float64 `json:"series_expected"`
	SeriesFound    float64 `json:"series_found"`
}

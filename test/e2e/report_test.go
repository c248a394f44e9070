// Copyright The ampload authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportInABrowser opens report.html of a run that passed and of one that
// failed in a real browser: the headline is one short sentence, coloured by the
// result, with the reason under it, and the read-back is said once.
func TestReportInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	passed := runLoadTest(t, nil, "-instances", "100", "-stages", "4s:1000")
	failed := runLoadTest(t, nil, "-instances", "2000", "-gen", "1", "-stages", "5s:3M")
	require.NotNil(t, passed.verdict, passed.out)
	require.NotNil(t, failed.verdict, failed.out)
	require.True(t, passed.verdict.Passed, passed.out)
	require.False(t, failed.verdict.Passed, failed.out)

	for _, tc := range []struct {
		lt       loadTestRun
		headline string
		colour   string
	}{
		{passed, `^Sustained [\d,]+ samples/s; every stage passed\.$`, "rgb(232, 245, 233)"},
		{failed, `^No stage passed; stopped at stage 1 \(3,000,000 samples/s\) by the collector fell behind \(.+\), not the backend\.$`, "rgb(253, 236, 234)"},
	} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("file://"+filepath.Join(tc.lt.dir, "report.html"))))
		headline, err := chromedp.Run(ctx, chromedp.Text("#headline"))
		require.NoError(t, err)
		assert.Regexp(t, tc.headline, headline)
		assert.Less(t, len(headline), 140, "one short sentence")
		colour, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("verdict")).backgroundColor`))
		require.NoError(t, err)
		assert.Equal(t, tc.colour, colour, "the colour of the result")
		body, err := chromedp.Run(ctx, chromedp.Text("body"))
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(body, "Read back:"), "the read-back once")
	}
	details, err := chromedp.Run(ctx, chromedp.Text("#details"))
	require.NoError(t, err)
	assert.Contains(t, details, "Stage 1: the collector fell behind by", "the whole reason under the headline")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// adminTokenEnv holds the gateway's admin token for commands that call
// its admin API; a flag would show the token in the process list.
const adminTokenEnv = "ADGATE_ADMIN_TOKEN"

// maxSampleBytes bounds what sample pull reads: the gateway keeps at
// most 100000 events per app.
const maxSampleBytes = 512 << 20

func sampleCmd() *command {
	c := newCommand("sample", "sample pull --app ID [--url URL] [-o FILE]",
		"pull the redacted event sample a running gateway keeps, as NDJSON",
		`Fetches the sample of accepted events that adgate serve keeps for app ID when
gateway.yaml has sample.events_per_app set (off by default), oldest first, one event
per line: ready for adgate diff --events FILE and to copy into fixtures. Credentials
are redacted and device ids pseudonymized by the gateway before an event is kept.

The admin token is read from $`+adminTokenEnv+` (GET /v1/apps/ID/sample needs it).`, argWords)
	c.words = func() []string { return []string{"pull"} }
	app := c.flags.String("app", "", "the app `ID` whose sample to pull")
	base := c.flags.String("url", "http://127.0.0.1:8080", "the gateway's base `URL`")
	out := c.flags.String("o", "", "write the NDJSON to `FILE` instead of stdout")
	c.run = func(ctx context.Context, st stdio, args []string) int {
		if len(args) != 1 || args[0] != "pull" {
			return c.usageError(st, "give: sample pull --app ID")
		}
		if *app == "" {
			return c.usageError(st, "--app is required")
		}
		token := os.Getenv(adminTokenEnv)
		if token == "" {
			return errExit(st.errOut, "sample", fmt.Errorf("$%s is not set: export the gateway's admin_token in it", adminTokenEnv))
		}
		b, err := pullSample(ctx, *base, *app, token)
		if err != nil {
			return errExit(st.errOut, "sample", err)
		}
		if *out == "" {
			if _, err := st.out.Write(b); err != nil {
				return errExit(st.errOut, "sample", err)
			}
			return 0
		}
		if err := os.WriteFile(*out, b, 0o600); err != nil {
			return errExit(st.errOut, "sample", err)
		}
		fmt.Fprintf(st.errOut, "wrote %d event(s) to %s\n", bytes.Count(b, []byte("\n")), *out)
		return 0
	}
	return c
}

// pullSample fetches GET BASE/v1/apps/APP/sample.
func pullSample(ctx context.Context, base, app, token string) ([]byte, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want the gateway's http(s)://HOST:PORT", base)
	}
	u = u.JoinPath("v1", "apps", app, "sample")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pulling the sample: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSampleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("pulling the sample from %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, fmt.Errorf("%s: %s: %s", u, resp.Status, msg)
	}
	if len(b) > maxSampleBytes {
		return nil, fmt.Errorf("%s: the sample is larger than %d bytes", u, maxSampleBytes)
	}
	return b, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/adgate/adgate/engine/fixture"
)

func newCmd() *command {
	c := newCommand("new", "new partner [--dir DIR] [--name NAME] ID",
		"write a commented starter spec and fixture for a new partner",
		`Writes DIR/ID.yaml, a commented partner spec (an install GET and a purchase JSON POST),
and DIR/ID.test.yaml, its fixture, with cases that pass as written:

  adgate new partner acme_ads
  adgate validate partners/acme_ads.yaml
  adgate test partners/acme_ads.yaml

Then edit both to the partner's documentation; adgate test --update rewrites the
expectations to what the spec renders now, for review. Existing files are never
overwritten.`, argWords)
	c.words = func() []string { return []string{"partner"} }
	dir := c.flags.String("dir", defaultPartnersDir, "`DIR`ectory to write the files to (created if missing)")
	name := c.flags.String("name", "", "the partner's display `NAME` (default: from ID, acme_ads: Acme Ads)")
	c.run = func(_ context.Context, st stdio, args []string) int {
		if len(args) != 2 || args[0] != "partner" {
			return c.usageError(st, "give: new partner ID")
		}
		id := args[1]
		if !partnerIDRE.MatchString(id) {
			return c.usageError(st, fmt.Sprintf("partner id %q: use lower-case letters, digits and underscores, starting with a letter or digit", id))
		}
		display := *name
		if display == "" {
			display = displayName(id)
		}
		files, err := writeNewPartner(*dir, id, display)
		if err != nil {
			return errExit(st.errOut, "new", err)
		}
		for _, f := range files {
			fmt.Fprintf(st.out, "wrote %s\n", f)
		}
		fmt.Fprintf(st.out, "next: adgate validate %s && adgate test %s\n", files[0], files[0])
		return 0
	}
	return c
}

// partnerIDRE is the id pattern of schemas/partner.schema.json.
var partnerIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// displayName makes a display name from an id: acme_ads is Acme Ads.
func displayName(id string) string {
	words := strings.Split(id, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.TrimSpace(strings.Join(words, " "))
}

// writeNewPartner writes the spec and the fixture, neither if either
// exists: half a starter pair is worse than none.
func writeNewPartner(dir, id, name string) ([]string, error) {
	specPath := filepath.Join(dir, id+".yaml")
	fixturePath := filepath.Join(dir, id+fixture.Suffix)
	for _, p := range []string{specPath, filepath.Join(dir, id+".yml"), fixturePath} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s already exists; nothing written (remove it or pick another id)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := strings.NewReplacer("__ID__", id, "__NAME__", name, "__DIR__", filepath.ToSlash(dir))
	for _, f := range []struct{ path, text string }{{specPath, newSpecText}, {fixturePath, newFixtureText}} {
		// O_EXCL: a file that appeared since the check is not overwritten.
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		_, werr := fh.WriteString(r.Replace(f.text))
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("writing %s: %w", f.path, werr)
		}
	}
	return []string{specPath, fixturePath}, nil
}

// newSpecText is the starter spec; __ID__, __NAME__ and __DIR__ are
// replaced. Every field it uses is explained where it is used, so the
// file is its own first reference.
const newSpecText = `# __NAME__: a partner spec written by adgate new partner __ID__.
# Replace the example endpoint and parameters with the partner's documentation.
# Check:      adgate validate __DIR__/__ID__.yaml
# Try:        adgate render --partners __DIR__ --partner __ID__ --event EVENT.json --account ACCOUNT.yaml
# Test:       adgate test __DIR__/__ID__.yaml    (the cases are in __ID__.test.yaml)
# Reference:  docs/spec.md (fields), docs/template.md (the ${...} language)

# id names the file (__ID__.yaml) and the partner in gateway.yaml.
id: __ID__
# machine_name is Branch's name for the partner, the $3p of attributed events;
# the default is a_<id>.
machine_name: a___ID__
name: __NAME__
# in-review until the partner has confirmed a test postback; then active.
status: in-review

# Each postback is one HTTP request, sent for the events it lists: INSTALL,
# REINSTALL, OPEN, PURCHASE, ... or custom_event for any event not listed.
# {macro} is a parameter below, percent-encoded in a URL query, JSON-escaped
# in a JSON body.
postbacks:
  - events: [INSTALL]
    url: https://postbacks.example.com/__ID__/install?click_id={click_id}&os={os}&idfa={idfa}&gaid={gaid}&key={api_key}
  - events: [PURCHASE]
    method: POST
    url: https://postbacks.example.com/__ID__/purchase
    # A credential belongs in a header rather than in the URL, where logs keep it.
    headers:
      Authorization: Bearer {api_key}
    content_type: application/json
    body: '{"click_id":"{click_id}","revenue":"{revenue}","currency":"{currency}"}'

# Each parameter maps a macro to a Branch parameter (schemas/branch-parameters.yaml
# lists them, with where each value comes from in the event).
parameters:
  # The partner's click id, from the tracking link. required: without it
  # the postback is not sent (it could not be attributed).
  - macro: click_id
    branch: CLICK_ID
    link_macro: '{click_id}'
    required: true
  - macro: os
    branch: OS
  - macro: idfa
    branch: IDFA
  - macro: gaid
    branch: AAID
  # A credential the advertiser enters: --account FILE of adgate render, account:
  # in the fixture, credentials: in gateway.yaml.
  - macro: api_key
    branch: ACCOUNT_CREDENTIAL
    label: API key
  - macro: revenue
    branch: PURCHASE_REVENUE
  - macro: currency
    branch: PURCHASE_CURRENCY
`

// newFixtureText is the starter fixture; its expectations are what the
// starter spec renders.
const newFixtureText = `# Fixture cases for __ID__.yaml: adgate test __DIR__/__ID__.yaml runs them.
# Each case renders an event (inline, or a JSON file relative to this file)
# and compares the requests with expect:. After a deliberate spec change,
# adgate test --update __DIR__/__ID__.yaml rewrites the expectations; review the diff.

# The account every case renders with: the credentials the advertiser enters.
account:
  credentials:
    api_key: k-123

cases:
  - name: install-ios
    event:
      name: INSTALL
      timestamp: 1767232800000
      user_data: {os: IOS, idfa: 27AFDDCC-15DA-3A32-EF33-D0469D36A673}
      last_attributed_touch_data: {~click_id: clk-1, $3p: a___ID__}
    expect:
      requests:
        - postback: INSTALL
          url: https://postbacks.example.com/__ID__/install?click_id=clk-1&os=IOS&idfa=27AFDDCC-15DA-3A32-EF33-D0469D36A673&gaid=&key=k-123

  - name: purchase-android
    event:
      name: PURCHASE
      timestamp: 1767232800000
      user_data: {os: ANDROID, aaid: 38400000-8cf0-11bd-b23e-10b96e40000d}
      last_attributed_touch_data: {~click_id: clk-2, $3p: a___ID__}
      event_data: {revenue: 19.99, currency: USD}
    expect:
      requests:
        - postback: PURCHASE
          method: POST
          url: https://postbacks.example.com/__ID__/purchase
          headers:
            Authorization: Bearer k-123
            Content-Type: application/json
          body: '{"click_id":"clk-2","revenue":"19.99","currency":"USD"}'

  # No click id: the required parameter skips the postback.
  - name: install-without-click-id
    event:
      name: INSTALL
      user_data: {os: IOS}
    expect:
      skipped:
        - postback: INSTALL
          reason: required parameter {click_id}

  # No postback lists OPEN, and there is no custom_event postback.
  - name: open-sends-nothing
    event:
      name: OPEN
      user_data: {os: IOS}
    expect:
      requests: []
`

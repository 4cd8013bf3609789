package render

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/spec"
)

// TestPlainURLEveryPartner renders every postback of every partner in
// partners/ with the plain-text fast paths (run.plainURL included) and
// through the engine, for events that exercise missing values, values to
// escape, paths stepping into non-hashes and huge values: the results must
// be the same, skips and reasons included.
func TestPlainURLEveryPartner(t *testing.T) {
	files, err := filepath.Glob("../../partners/*.yaml")
	if err != nil || len(files) == 0 {
		t.Skipf("no partners: %v", err)
	}
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("é&", 12_000) // over the output limit once escaped
	events := []*event.Event{
		readEvent(t, "install-android"), readEvent(t, "purchase-ios"),
		parseEvent(t, `{"name":"INSTALL"}`),
		parseEvent(t, `{"name":"OPEN","user_data":"not a hash","last_attributed_touch_data":[1,2],"custom_data":{"identity":{"a":1}}}`),
		parseEvent(t, `{"name":"PURCHASE","timestamp":1.5e3,"user_data":{"os":"IOS","idfa":"a b/c+d","ip":null,"aaid":12.50},"custom_data":{"identity":"x y"}}`),
		parseEvent(t, `{"name":"signup","timestamp":-12,"user_data":{"os":"ANDROID","aaid":"`+huge+`"},"custom_data":{"identity":"`+huge+`"}}`),
	}
	accts := []*Account{nil, benchAccount, account.New(account.Data{Credentials: map[string]string{"account_id": "", "token": "ü"}})}
	n := 0
	for _, f := range files {
		p, _, err := l.LoadFile(context.Background(), f)
		if err != nil {
			continue // the partner suite reports broken specs
		}
		cp, err := Compile(p, l.Catalog())
		if err != nil {
			continue
		}
		for _, pb := range cp.postbacks {
			if pb.urlOnly {
				n++
			}
		}
		for _, ev := range events {
			for _, acct := range accts {
				for _, key := range append(cp.Postbacks(), "") {
					opt := Options{Postback: key}
					fast, err1 := cp.Render(ev, acct, opt)
					cp.noPlain = true
					slow, err2 := cp.Render(ev, acct, opt)
					cp.noPlain = false
					a := limitRE.ReplaceAllString(fmt.Sprint(fast, err1), "OUTPUT LIMIT")
					b := limitRE.ReplaceAllString(fmt.Sprint(slow, err2), "OUTPUT LIMIT")
					if a != b {
						t.Errorf("%s %s %q: fast and engine differ:\nfast %.600s\nslow %.600s", cp.ID(), ev.Name(), key, a, b)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("no postback took the plain URL path")
	}
}

// limitRE matches the output limit's reason, which the plain-text paths
// word without a position (as they did before run.plainURL).
var limitRE = regexp.MustCompile(`( at line \d+, column \d+)?: (output larger than|template output exceeds the limit of) \d+ bytes`)

func TestQueryLen(t *testing.T) {
	for _, s := range []string{"", "abc", "a b", "é", "%%", "A-Z_a.z~0", "\x00\xff"} {
		if got, want := queryLen(s), len(QueryEscape(s)); got != want {
			t.Errorf("queryLen(%q) = %d, want %d", s, got, want)
		}
		if got, want := string(appendQuery([]byte("x"), s)), "x"+QueryEscape(s); got != want {
			t.Errorf("appendQuery(%q) = %q, want %q", s, got, want)
		}
	}
}

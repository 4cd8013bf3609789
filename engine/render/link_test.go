package render

import (
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/spec"
)

func TestTrackingLink(t *testing.T) {
	p, cat := loadPartner(t, "acme")
	tests := []struct {
		base, want string
	}{
		{"", "https://example.app.link/partner?$3p=a_acme&~advertising_partner_name=Acme%20Ads&~click_id={acme_click}&campaign={acme_campaign}&$aaid={gaid}&$s2s=true"},
		{"https://shop.app.link/abc?x=1", "https://shop.app.link/abc?x=1&$3p=a_acme&~advertising_partner_name=Acme%20Ads&~click_id={acme_click}&campaign={acme_campaign}&$aaid={gaid}&$s2s=true"},
	}
	for _, tt := range tests {
		got, err := TrackingLink(p, cat, tt.base)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("TrackingLink(%q) =\n%s\nwant\n%s", tt.base, got, tt.want)
		}
	}
	// Text around a macro is encoded, the macro kept.
	q := &spec.Partner{ID: "q", Name: "Q & Co", MachineName: "a_q",
		Parameters: []spec.Parameter{{Macro: "sub", Branch: "CUSTOM_LINK_MACRO", LinkMacro: "pre {sub_id}+x"}}}
	got, err := TrackingLink(q, cat, "https://l.test/")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://l.test/?$3p=a_q&~advertising_partner_name=Q%20%26%20Co&sub=pre%20{sub_id}%2Bx"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Two parameters claiming one link key with different macros.
	q.Parameters = append(q.Parameters, spec.Parameter{Macro: "c1", Branch: "CLICK_ID", LinkMacro: "{a}"}, spec.Parameter{Macro: "c2", Branch: "CLICK_ID", LinkMacro: "{b}"})
	if _, err := TrackingLink(q, cat, ""); err == nil || !strings.Contains(err.Error(), "link key ~click_id is already {a}") {
		t.Errorf("err = %v", err)
	}
	if _, err := TrackingLink(p, cat, "https://x.test/#frag"); err == nil {
		t.Error("a base with a fragment was accepted")
	}
}

package render

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/spec"
)

// compileShopnet compiles the example partner with a GET and a named JSON
// POST for PURCHASE.
func compileShopnet(t *testing.T) *Partner {
	t.Helper()
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	p, ds, err := l.LoadFile(context.Background(), "../../examples/partners/shopnet.yaml")
	if err != nil {
		t.Fatalf("%v\n%v", err, ds)
	}
	cp, err := Compile(p, l.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestRenderSeveralPostbacks(t *testing.T) {
	cp := compileShopnet(t)
	b, err := os.ReadFile("../../examples/events/purchase.json")
	if err != nil {
		t.Fatal(err)
	}
	purchase := parseEvent(t, string(b))
	acct := account.New(account.Data{Credentials: map[string]string{"api_key": "k"}})
	type req struct{ postback, name, method string }
	tests := []struct {
		name     string
		postback string
		want     []req
	}{
		{"the event selects both, in spec order", "", []req{{"PURCHASE", "", "GET"}, {"PURCHASE", "basket", "POST"}}},
		{"an event key selects every postback of it", "purchase", []req{{"PURCHASE", "", "GET"}, {"PURCHASE", "basket", "POST"}}},
		{"a name selects its postback alone", "BASKET", []req{{"PURCHASE", "basket", "POST"}}},
		{"the other event of the unnamed postback", "INSTALL", []req{{"INSTALL", "", "GET"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cp.Render(purchase, acct, Options{Postback: tt.postback})
			if err != nil {
				t.Fatal(err)
			}
			var got []req
			for _, r := range res.Requests {
				got = append(got, req{r.Postback, r.Name, r.Method})
			}
			if !slices.Equal(got, tt.want) || len(res.Skipped) > 0 {
				t.Errorf("requests %+v (skipped %+v), want %+v", got, res.Skipped, tt.want)
			}
		})
	}
	if got := cp.Postbacks(); !slices.Equal(got, []string{"INSTALL", "PURCHASE", "basket"}) {
		t.Errorf("Postbacks() = %q", got)
	}
	_, err = cp.Render(purchase, acct, Options{Postback: "json"})
	if err == nil || !strings.Contains(err.Error(), `no postback "json" (it has INSTALL, PURCHASE, basket)`) {
		t.Errorf("unknown name: err = %v", err)
	}
	// a skip names the postback it is about
	res, _ := cp.Render(parseEvent(t, `{"name":"PURCHASE"}`), acct, Options{})
	if len(res.Skipped) != 2 || res.Skipped[1].Name != "basket" || !strings.Contains(res.Skipped[1].Reason, "{click_id}") {
		t.Errorf("skipped %+v", res.Skipped)
	}
}

func TestCompileRefusesAmbiguousPostbacks(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		pbs  []spec.Postback
		want string
	}{
		{"two unnamed", []spec.Postback{{Events: []string{"PURCHASE"}, URL: "https://a.example/"}, {Events: []string{"purchase"}, URL: "https://b.example/"}},
			"event purchase has two postbacks without a name"},
		{"one name twice", []spec.Postback{{Name: "x", Events: []string{"PURCHASE"}, URL: "https://a.example/"}, {Name: "x", Events: []string{"INSTALL"}, URL: "https://b.example/"}},
			`postback name "x" is not unique`},
	} {
		_, err := Compile(&spec.Partner{ID: "t", Name: "T", Postbacks: tt.pbs}, l.Catalog())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

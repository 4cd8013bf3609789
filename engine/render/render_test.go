package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// loadPartner loads a test spec through the spec loader, so test specs
// are held to the same validation as real ones.
func loadPartner(t testing.TB, name string) (*spec.Partner, *catalog.Catalog) {
	t.Helper()
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	p, ds, err := l.LoadFile(context.Background(), filepath.Join("testdata", "specs", name+".yaml"))
	if err != nil {
		t.Fatalf("%v\n%v", err, ds)
	}
	return p, l.Catalog()
}

func compileTest(t testing.TB, name string) *Partner {
	t.Helper()
	p, cat := loadPartner(t, name)
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func parseEvent(t testing.TB, js string) *event.Event {
	t.Helper()
	ev, err := event.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func readEvent(t testing.TB, name string) *event.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return parseEvent(t, string(b))
}

var acmeAccount = account.New(account.Data{
	Credentials: map[string]string{"token": "t0k+/= n"},
	Settings:    map[string]string{"goal_id": "G-1"},
})

func TestRenderAcme(t *testing.T) {
	cp := compileTest(t, "acme")
	tests := []struct {
		name  string
		event *event.Event
		acct  *Account
		opt   Options
		want  []Request
		skip  []Skipped
	}{
		{
			name:  "install: url macros percent-encoded, md5, setting, credential, link macro",
			event: readEvent(t, "install-android"),
			acct:  acmeAccount,
			want: []Request{{Postback: "INSTALL", Method: "GET", Headers: map[string]string{},
				URL: "https://postback.acme.test/install?click=clk%201%2B2%2F3%3D4%26x&aaid=4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e&aaid_md5=14adb30531484491e32a2367dda8d2a0&os=ANDROID&goal=G-1&tok=t0k%2B%2F%3D%20n&campaign=Spring%20Sale%2050%25"}},
		},
		{
			name:  "purchase: headers raw, body JSON-escaped, ${} printed as is",
			event: readEvent(t, "purchase-ios"),
			acct:  acmeAccount,
			want: []Request{{Postback: "PURCHASE", Method: "POST",
				URL:     "https://postback.acme.test/purchase?click=c-77",
				Headers: map[string]string{"Authorization": "Bearer t0k+/= n", "X-Event": "purchase", "Content-Type": "application/json"},
				Body:    `{"click":"c-77","revenue":"1234.5","currency":"EUR","note":"say \"hi\"\nnew line & </script>","os":"IOS"}`}},
		},
		{
			name:  "custom event: form body percent-encoded",
			event: parseEvent(t, `{"name":"sign up","custom_data":{"note":"a&b=c d"}}`),
			acct:  acmeAccount,
			want: []Request{{Postback: "custom_event", Method: "POST", URL: "https://postback.acme.test/custom",
				Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
				Body:    "name=sign%20up&note=a%26b%3Dc%20d"}},
		},
		{
			name:  "required parameter without value skips",
			event: parseEvent(t, `{"name":"REINSTALL","user_data":{"os":"IOS"}}`),
			acct:  acmeAccount,
			skip:  []Skipped{{Postback: "REINSTALL", Reason: "required parameter {click_id} (CLICK_ID) has no value (from last_attributed_touch_data.~click_id)"}},
		},
		{
			name:  "no account: credentials and settings render empty",
			event: parseEvent(t, `{"name":"install","last_attributed_touch_data":{"~click_id":"c"}}`),
			want: []Request{{Postback: "INSTALL", Method: "GET", Headers: map[string]string{},
				URL: "https://postback.acme.test/install?click=c&aaid=&aaid_md5=&os=&goal=&tok=&campaign="}},
		},
		{
			name:  "a line break in a header value skips instead of injecting",
			event: readEvent(t, "purchase-ios"),
			acct:  account.New(account.Data{Credentials: map[string]string{"token": "x\r\nX-Evil: 1"}}),
			skip:  []Skipped{{Postback: "PURCHASE", Reason: "header Authorization: rendered value contains a control character at byte 8"}},
		},
		{
			name:  "lifecycle event without postback: nothing",
			event: parseEvent(t, `{"name":"OPEN"}`),
		},
		{
			name:  "forced postback",
			event: parseEvent(t, `{"name":"OPEN","custom_data":{"note":"n"}}`),
			opt:   Options{Postback: "CUSTOM_EVENT"},
			want: []Request{{Postback: "custom_event", Method: "POST", URL: "https://postback.acme.test/custom",
				Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: "name=OPEN&note=n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cp.Render(tt.event, tt.acct, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Partner != "acme" || res.Event != tt.event.Name() {
				t.Errorf("partner, event = %s, %s", res.Partner, res.Event)
			}
			want := Result{Partner: "acme", Event: tt.event.Name(), Requests: tt.want, Skipped: tt.skip}
			for i := range want.Requests {
				if len(want.Requests[i].Headers) == 0 {
					want.Requests[i].Headers = nil
				}
			}
			if want.Requests == nil {
				want.Requests = []Request{}
			}
			if want.Skipped == nil {
				want.Skipped = []Skipped{}
			}
			g, _ := json.MarshalIndent(res, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			if string(g) != string(w) {
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestRenderUnknownPostback(t *testing.T) {
	cp := compileTest(t, "acme")
	_, err := cp.Render(parseEvent(t, `{"name":"OPEN"}`), nil, Options{Postback: "OPEN"})
	if err == nil || !strings.Contains(err.Error(), `no postback "OPEN" (it has INSTALL, REINSTALL, PURCHASE, custom_event)`) {
		t.Errorf("err = %v", err)
	}
}

func TestSelection(t *testing.T) {
	cp := compileTest(t, "acme")
	tests := map[string]string{
		"INSTALL": "INSTALL", "install": "INSTALL", "Reinstall": "REINSTALL", "PURCHASE": "PURCHASE",
		"purchase": "PURCHASE", "ADD_TO_CART": "custom_event", "signup": "custom_event", "custom_event": "custom_event",
		"OPEN": "", "open": "", "CLICK": "", "IMPRESSION": "", "WEB_SESSION_START": "", "web session start": "", "PAGEVIEW": "",
	}
	for name, want := range tests {
		if got := cp.Selects(name); got != want {
			t.Errorf("Selects(%q) = %q, want %q", name, got, want)
		}
	}
	// Without a custom_event postback, other events trigger nothing.
	p, cat := loadPartner(t, "acme")
	p.Postbacks = p.Postbacks[:2]
	cp2, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	if got := cp2.Selects("signup"); got != "" {
		t.Errorf("without custom_event: Selects(signup) = %q", got)
	}
}

func TestTemplateErrorSkips(t *testing.T) {
	p, cat := loadPartner(t, "acme")
	for i := range p.Parameters {
		if p.Parameters[i].Macro == "note" {
			p.Parameters[i].Template = "${custom_data.note?upper_case}"
		}
	}
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Render(parseEvent(t, `{"name":"signup"}`), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || len(res.Requests) != 0 {
		t.Fatalf("got %+v", res)
	}
	r := res.Skipped[0].Reason
	for _, part := range []string{"template error in partner acme parameter {note} template", "line 1, column 3", "custom_data"} {
		if !strings.Contains(r, part) {
			t.Errorf("reason %q lacks %q", r, part)
		}
	}
}

func TestURLTemplate(t *testing.T) {
	cp := compileTest(t, "criteo")
	acct := account.New(account.Data{App: account.App{Bundles: []account.Bundle{
		{OS: "ANDROID", Android: &account.AndroidBundle{PackageName: "com.acme.shop"}},
		{OS: "IOS", IOS: &account.IOSBundle{BundleID: "com.acme.Shop", ItunesID: "id1"}},
	}}})
	res, err := cp.Render(readEvent(t, "install-android"), acct, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Requests) != 1 {
		t.Fatalf("got %+v", res)
	}
	u, err := url.Parse(res.Requests[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "widget.eu.criteo.com" {
		t.Errorf("host = %s, want widget.eu.criteo.com (geo_continent_code EU)", u.Host)
	}
	// The doc's template itself writes a stray quote after
	// install_attribution_payload, so data is not valid JSON: check the
	// parts the template computes.
	data := u.Query().Get("data")
	for _, part := range []string{
		`{"account":{"an":"com.acme.shop","cn":"de","ln":"de"},"site_type":"aa"`,
		`"id": {"gaid": "4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e"}`,
		`"install_is_attributed": "false}"`,
		`"ip": "203.0.113.7"`,
	} {
		if !strings.Contains(data, part) {
			t.Errorf("data lacks %s:\n%s", part, data)
		}
	}
}

func TestOnlyDeclaredNamesAreMacros(t *testing.T) {
	_, cat := loadPartner(t, "acme")
	ev := parseEvent(t, `{"name":"INSTALL","user_data":{"os":"A B","aaid":"a-1"},"last_attributed_touch_data":{"~click_id":"c/1"}}`)
	params := []spec.Parameter{{Macro: "os", Branch: "OS"}, {Macro: "~click_id", Branch: "CLICK_ID", LinkMacro: "{hash}"}, {Macro: "android_id-idfa", Branch: "AAID"}}
	tests := []struct{ name, url, want string }{
		{"plain", `https://m.test/?a={os}&b={other}&d={ "x" }`, `https://m.test/?a=A%20B&b={other}&d={ "x" }`},
		{"engine", `https://m.test/?a={os}&b={other}&c=${"{os}"}&d={ "x" }`, `https://m.test/?a=A%20B&b={other}&c={os}&d={ "x" }`},
		// Branch partners name macros with ~ and - (appier, mobrain).
		{"plain punctuated", `https://m.test/?asi={~click_id}&d={android_id-idfa}&e={~other}`, `https://m.test/?asi=c%2F1&d=a-1&e={~other}`},
		{"engine punctuated", `https://m.test/?asi={~click_id}&d={android_id-idfa}&c=${"x"}`, `https://m.test/?asi=c%2F1&d=a-1&c=x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &spec.Partner{ID: "m", Name: "M",
				Postbacks:  []spec.Postback{{Events: []string{"INSTALL"}, URL: tt.url}},
				Parameters: params,
			}
			cp, err := Compile(p, cat)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cp.Render(ev, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Requests[0].URL; got != tt.want {
				t.Errorf("url = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	_, cat := loadPartner(t, "acme")
	p := &spec.Partner{ID: "bad", Name: "Bad",
		Postbacks: []spec.Postback{
			{Events: []string{"INSTALL"}, URL: "https://b.test/?a={a}<#if>"},
			{Events: []string{"install"}, URL: "https://b.test/"},
		},
		Parameters: []spec.Parameter{
			{Macro: "a", Branch: "NOT_A_PARAMETER"},
			{Macro: "b", Branch: "CLICK_IDFA"},
			{Macro: "c", Branch: "OS", Template: "${"},
		},
	}
	_, err := Compile(p, cat)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CompileError", err)
	}
	msg := err.Error()
	for _, part := range []string{"unknown Branch parameter NOT_A_PARAMETER", "parameter {c} template", "postback INSTALL url", "event install has two postbacks"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error lacks %q:\n%s", part, msg)
		}
	}
}

// TestLinkOnlyParameter: a link-only click parameter used as a postback
// parameter (the lint warns) compiles, renders empty, and explain says why.
func TestLinkOnlyParameter(t *testing.T) {
	_, cat := loadPartner(t, "acme")
	p := &spec.Partner{ID: "lo", Name: "LO",
		Postbacks:  []spec.Postback{{Events: []string{"INSTALL"}, URL: "https://lo.test/?u={u}&os={os}"}},
		Parameters: []spec.Parameter{{Macro: "u", Branch: "CLICK_AAID"}, {Macro: "os", Branch: "OS"}},
	}
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Render(parseEvent(t, `{"name":"INSTALL","user_data":{"os":"ANDROID","aaid":"x"}}`), nil, Options{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Requests) != 1 {
		t.Fatalf("requests = %+v, skipped = %+v", res.Requests, res.Skipped)
	}
	if got, want := res.Requests[0].URL, "https://lo.test/?u=&os=ANDROID"; got != want {
		t.Errorf("url = %s, want %s", got, want)
	}
	if ex := res.Requests[0].Explain; len(ex) == 0 || ex[0].Source != SourceLink || !strings.Contains(ex[0].From, "link-only") {
		t.Errorf("explain = %+v, want u from a link-only source", ex)
	}
}

func TestExplain(t *testing.T) {
	cp := compileTest(t, "acme")
	res, err := cp.Render(readEvent(t, "install-android"), acmeAccount, Options{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Macro{}
	var order []string
	for _, m := range res.Requests[0].Explain {
		got[m.Name] = m
		order = append(order, m.Name)
	}
	if strings.Join(order, ",") != "click_id,aaid,aaid_md5,os,goal,token,campaign" {
		t.Errorf("macro order = %v", order)
	}
	tests := []Macro{
		{Name: "click_id", Value: "clk 1+2/3=4&x", Branch: "CLICK_ID", Source: SourceLink, From: "last_attributed_touch_data.~click_id", Required: true},
		{Name: "aaid", Value: "4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e", Branch: "AAID", Source: SourceEvent, From: "user_data.aaid"},
		{Name: "goal", Value: "G-1", Branch: "GOAL_ID", Source: SourceSetting, From: "settings.goal_id"},
		{Name: "token", Value: "t0k+/= n", Branch: "ACCOUNT_CREDENTIAL", Source: SourceCredential, From: "ad_network.credentials.token"},
		{Name: "campaign", Value: "Spring Sale 50%", Branch: "CUSTOM_LINK_MACRO", Source: SourceLink, From: "last_attributed_touch_data.campaign"},
	}
	for _, want := range tests {
		if g := got[want.Name]; g != want {
			t.Errorf("explain %s = %+v, want %+v", want.Name, g, want)
		}
	}
	res, _ = cp.Render(parseEvent(t, `{"name":"INSTALL","custom_data":{"note":"x"}}`), nil, Options{Explain: true})
	if len(res.Skipped) != 1 || len(res.Skipped[0].Explain) == 0 {
		t.Errorf("skipped postbacks are explained too: %+v", res)
	}
}

func TestRenderConcurrent(t *testing.T) {
	cp := compileTest(t, "acme")
	evs := []*event.Event{readEvent(t, "install-android"), readEvent(t, "purchase-ios")}
	want := make([]string, len(evs))
	for i, ev := range evs {
		res, err := cp.Render(ev, acmeAccount, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = fmt.Sprint(res)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := (g + i) % len(evs)
				res, err := cp.Render(evs[k], acmeAccount, Options{})
				if err != nil || fmt.Sprint(res) != want[k] {
					errs <- fmt.Sprintf("goroutine %d: %v %v", g, err, res)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestDefaultPathFastPath checks that compiling ${(a.b)!} to a path lookup
// gives what the template engine gives, error or value.
func TestDefaultPathFastPath(t *testing.T) {
	ev := parseEvent(t, `{"name":"x","n":1.50,"big":467391383381228204,"b":true,"s":"str","h":{"k":"v","~t":"tilde"},"q":[1]}`)
	for _, src := range []string{
		"${(n)!}", "${(big)!}", "${(b)!}", "${(s)!}", "${(h.k)!}", "${(h.~t)!}", "${(h.tilde_t)!}",
		"${(missing)!}", "${(missing.deeper)!}", "${(s.k)!}", "${(h)!}", "${(q)!}",
	} {
		m := defaultPathRE.FindStringSubmatch(src)
		if m == nil {
			t.Errorf("%s is not recognised", src)
			continue
		}
		tm, err := template.Parse("t", src, template.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := tm.ExecuteString(ev.Value(), nil)
		// as compute reads a path parameter
		root, path := ev.Value(), event.ParsePath(m[1])
		got, ok := root.LookupText(path...)
		var gotErr error
		if !ok {
			gotErr = pathError(path, 0, &root, m[1])
		}
		if (wantErr != nil) != (gotErr != nil) || got != want {
			t.Errorf("%s: fast path %q, %v; engine %q, %v", src, got, gotErr, want, wantErr)
		}
	}
	for _, src := range []string{"${(a.b)!\"x\"}", "${a.b!}", "x${(a)!}", "${(a[0])!}"} {
		if defaultPathRE.MatchString(src) {
			t.Errorf("%s taken for a plain path", src)
		}
	}
}

func TestModelNames(t *testing.T) {
	_, cat := loadPartner(t, "acme")
	p := &spec.Partner{ID: "m", Name: "M Ads",
		Postbacks: []spec.Postback{{Events: []string{"INSTALL"},
			URL: `https://m.test/?a=${event.name}&b=${custom_data.x}&c=${(app.from)!"none"}&d=${ad_network.name}&e=${ad_network.credentials.k}&f={os}`}},
		Parameters: []spec.Parameter{{Macro: "os", Branch: "OS"}},
	}
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ev   string
		acct *Account
		want string
	}{
		{`{"name":"INSTALL","custom_data":{"x":"y"},"app":{"from":"event"},"user_data":{"os":"IOS"}}`, account.New(account.Data{Credentials: map[string]string{"k": "v"}}),
			"https://m.test/?a=INSTALL&b=y&c=event&d=M Ads&e=v&f=IOS"},
		{`{"name":"INSTALL","custom_data":{"x":"y"},"app":{"from":"event"},"ad_network":{"name":"spoof"}}`,
			account.New(account.Data{App: account.App{Bundles: []account.Bundle{{OS: "IOS"}}}, Credentials: map[string]string{"k": "w"}}),
			"https://m.test/?a=INSTALL&b=y&c=none&d=M Ads&e=w&f="},
	}
	for _, tt := range tests {
		res, err := cp.Render(parseEvent(t, tt.ev), tt.acct, Options{})
		if err != nil || len(res.Requests) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
		if got := res.Requests[0].URL; got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
		// The full model, as eval builds it, gives the same text.
		tm, _ := template.Parse("t", strings.ReplaceAll(p.Postbacks[0].URL, "{os}", "${(user_data.os)!}"), template.Options{})
		full, err := tm.ExecuteString(cp.Model(parseEvent(t, tt.ev), tt.acct), nil)
		if err != nil || full != tt.want {
			t.Errorf("full model: %q %v", full, err)
		}
	}
}

// TestPlainTextFastPath: templates without FreeMarker syntax are written
// without the engine; the output must be the engine's, byte for byte.
func TestPlainTextFastPath(t *testing.T) {
	cps := []*Partner{compileTest(t, "acme"), compileTest(t, "criteo")}
	clevertap, cat := func() (*spec.Partner, *catalog.Catalog) {
		l, err := spec.NewLoader()
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := l.LoadFile(context.Background(), "../../partners/clevertap.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return p, l.Catalog()
	}()
	ct, err := Compile(clevertap, cat)
	if err != nil {
		t.Fatal(err)
	}
	cps = append(cps, ct)
	if ct.postbacks[0].urlPlain == nil {
		t.Fatal("CleverTap's URL should take the plain-text path")
	}
	for _, src := range []string{"a ${x}", "#{x}", "<#if x></#if>", "<@loop/>", "x </@y>", "<#-- c -->"} {
		if plainSegments(src, nil) != nil {
			t.Errorf("%q taken for plain text", src)
		}
	}
	events := []*event.Event{
		readEvent(t, "install-android"), readEvent(t, "purchase-ios"),
		parseEvent(t, `{"name":"signup","custom_data":{"note":"a&b {c} $ # < @"}}`),
		parseEvent(t, `{"name":"OPEN"}`),
	}
	for _, cp := range cps {
		for _, ev := range events {
			for _, key := range cp.Postbacks() {
				fast, err1 := cp.Render(ev, acmeAccount, Options{Postback: key})
				cp.noPlain = true
				slow, err2 := cp.Render(ev, acmeAccount, Options{Postback: key})
				cp.noPlain = false
				if fmt.Sprint(fast, err1) != fmt.Sprint(slow, err2) {
					t.Errorf("%s %s %s:\nfast %v %v\nslow %v %v", cp.id, ev.Name(), key, fast, err1, slow, err2)
				}
			}
		}
	}
}

// TestDeadlineSkips checks that Options.MaxDuration reaches the engine: a
// parameter template looping far beyond any deadline skips the postback
// with the time limit and the position it had reached.
func TestDeadlineSkips(t *testing.T) {
	p, cat := loadPartner(t, "acme")
	for i := range p.Parameters {
		if p.Parameters[i].Macro == "note" {
			p.Parameters[i].Template = `<@loop data=sprig.until(10000) val="i"><@loop data=sprig.until(10000) val="j">${j}</@loop></@loop>`
		}
	}
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Render(parseEvent(t, `{"name":"signup"}`), nil, Options{MaxDuration: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || len(res.Requests) != 0 {
		t.Fatalf("got %+v", res)
	}
	r := res.Skipped[0].Reason
	for _, part := range []string{"parameter {note} template at line 1, column", "time limit of 1ns"} {
		if !strings.Contains(r, part) {
			t.Errorf("reason %q lacks %q", r, part)
		}
	}
}

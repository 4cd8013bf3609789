package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/browser"
	"github.com/adgate/adgate/engine/internal/sink"
)

// screenshotsEnv, set to 1, makes the browser test write each page's
// screenshot into docs/console/.
const screenshotsEnv = "ADGATE_CONSOLE_SCREENSHOTS"

// startBrowser starts headless Chromium, or skips the test loudly when it
// is missing; under CI a missing browser fails the test.
func startBrowser(t *testing.T) *browser.Browser {
	t.Helper()
	if err := browser.Installed(browser.Options{}); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and the browser tests cannot run: %v", err)
		}
		t.Skipf("SKIPPING THE BROWSER TESTS: %v", err)
	}
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := browser.Start(ctx, browser.Options{ProfileDir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatalf("%v\nchromedriver: %s", err, log.String())
	}
	t.Cleanup(b.Close)
	return b
}

// page drives the console in the browser for a test.
type page struct {
	t    *testing.T
	b    *browser.Browser
	ctx  context.Context
	base string
}

// within is how long a page may take to show what a step expects: long,
// since the machine may be busy; the waits poll, so a fast run is fast.
const within = 20 * time.Second

func (p *page) open(path string) {
	p.t.Helper()
	if err := p.b.Navigate(p.ctx, p.base+path); err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
}

// text is the innerText of the first element matching css ("" if none).
func (p *page) text(css string) string {
	p.t.Helper()
	var s *string
	if err := p.b.Exec(p.ctx, `const e = document.querySelector(arguments[0]); return e ? e.innerText : null;`, &s, css); err != nil {
		p.t.Fatalf("read %s: %v", css, err)
	}
	if s == nil {
		return ""
	}
	return *s
}

// waitText waits until the element matching css shows want.
func (p *page) waitText(css, want string) string {
	p.t.Helper()
	var got string
	err := browser.Wait(p.ctx, within, fmt.Sprintf("%q in %s", want, css), func() (bool, error) {
		got = p.text(css)
		return strings.Contains(got, want), nil
	})
	if err != nil {
		p.t.Fatalf("%v; it shows %q", err, got)
	}
	return got
}

// waitJS waits until the script returns true.
func (p *page) waitJS(what, script string, args ...any) {
	p.t.Helper()
	err := browser.Wait(p.ctx, within, what, func() (bool, error) {
		var ok bool
		err := p.b.Exec(p.ctx, script, &ok, args...)
		return ok, err
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// refreshUntil clicks refresh (a button that redraws the page's data)
// until the element matching css reads as ok wants.
func (p *page) refreshUntil(refresh, css string, ok func(string) bool) {
	p.t.Helper()
	var got string
	err := browser.Wait(p.ctx, within, "the refreshed "+css, func() (bool, error) {
		got = p.text(css)
		if ok(got) {
			return true, nil
		}
		return false, p.b.Exec(p.ctx, `const b = document.querySelector(arguments[0]); if (b && !document.querySelector('#main .loading')) b.click();`, nil, refresh)
	})
	if err != nil {
		p.t.Fatalf("%v; it shows %q", err, got)
	}
}

func (p *page) click(css string) {
	p.t.Helper()
	p.waitJS(css+" to be clickable", `const e = document.querySelector(arguments[0]); return !!e && !e.disabled && e.offsetParent !== null;`, css)
	e, err := p.b.Find(p.ctx, css)
	if err == nil {
		err = e.Click(p.ctx)
	}
	if err != nil {
		p.t.Fatalf("click %s: %v", css, err)
	}
}

func (p *page) typeInto(css, text string, clear bool) {
	p.t.Helper()
	e, err := p.b.Find(p.ctx, css)
	if err == nil && clear {
		err = e.Clear(p.ctx)
	}
	if err == nil {
		err = e.SendKeys(p.ctx, text)
	}
	if err != nil {
		p.t.Fatalf("type into %s: %v", css, err)
	}
}

func (p *page) url() string {
	p.t.Helper()
	u, err := p.b.URL(p.ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

func (p *page) waitURL(prefix string) {
	p.t.Helper()
	var u string
	if err := browser.Wait(p.ctx, within, "the address "+prefix, func() (bool, error) {
		u = p.url()
		return strings.HasPrefix(u, p.base+prefix), nil
	}); err != nil {
		p.t.Fatalf("%v; at %s", err, u)
	}
}

// shot saves a screenshot of the page as docs/console/<name>.png when
// ADGATE_CONSOLE_SCREENSHOTS=1; the window grows to the page's height
// first (at most 1600 px) so a page is seen whole.
func (p *page) shot(name string) {
	p.t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	var h int
	// The window's own chrome is part of its height: add it, so the
	// viewport is the page's height (at least a laptop screen's 768).
	if err := p.b.Exec(p.ctx, `return Math.min(1600, Math.max(768, document.documentElement.scrollHeight)) + (window.outerHeight - window.innerHeight);`, &h); err != nil {
		p.t.Fatal(err)
	}
	if err := p.b.SetWindowSize(p.ctx, 1366, h); err != nil {
		p.t.Fatal(err)
	}
	png, err := p.b.Screenshot(p.ctx)
	if err == nil {
		err = os.WriteFile(filepath.Join("..", "..", "docs", "console", name+".png"), png, 0o644)
	}
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := p.b.SetWindowSize(p.ctx, 1366, 900); err != nil {
		p.t.Fatal(err)
	}
}

// failingSink is the real capture sink behind a switch that, while on,
// answers one partner's postbacks (by path prefix) with an error.
type failingSink struct {
	s      *sink.Sink
	prefix string
	on     atomic.Bool
}

func (f *failingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.on.Load() && strings.HasPrefix(r.URL.Path, f.prefix) {
		http.Error(w, `{"error":"partner endpoint rejects this account"}`, http.StatusBadRequest)
		return
	}
	f.s.ServeHTTP(w, r)
}

// received counts the sink's requests under prefix.
func (f *failingSink) received(prefix string) int {
	n := 0
	for _, r := range f.s.Requests() {
		if strings.HasPrefix(r.URL, prefix) {
			n++
		}
	}
	return n
}

func waitReceived(t *testing.T, ctx context.Context, f *failingSink, prefix string, n int) {
	t.Helper()
	if err := browser.Wait(ctx, within, fmt.Sprintf("%d postbacks under %s at the sink", n, prefix), func() (bool, error) {
		return f.received(prefix) >= n, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// journey runs one step of the browser journey; a failed step ends the
// test, since the next ones build on it.
func journey(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// TestConsoleBrowser drives headless Chromium through the console's
// journeys on a real gateway (embedded NATS) delivering to a real sink.
func TestConsoleBrowser(t *testing.T) {
	b := startBrowser(t)
	fs := &failingSink{s: sink.New(sink.Options{}), prefix: "/beacon"}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	e, _ := startEnv(t, nil, envOpts{sinkHost: strings.TrimPrefix(srv.URL, "http://"), mutate: func(cfg string) string {
		cfg = withReadOnly(cfg)
		// A beacon postback the partner refuses is dead at once.
		return strings.Replace(cfg, "send_revenue: false\n        delivery:\n", "send_revenue: false\n        delivery:\n          max_attempts: 1\n", 1)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &page{t: t, b: b, ctx: ctx, base: e.base}

	journey(t, "log in", func(t *testing.T) {
		p.t = t
		p.open("/console/deliveries")
		p.waitURL("/console/login")
		p.shot("login")
		p.typeInto("#token", "not-the-token", false)
		p.click("#login-submit")
		p.waitText("#login-error", "token not accepted")
		p.typeInto("#token", "test-admin-token-1", true)
		p.click("#login-submit")
		// Back where the login started.
		p.waitURL("/console/deliveries")
		p.waitText("#role", "admin")
	})

	journey(t, "post an event and see it in deliveries", func(t *testing.T) {
		p.t = t
		e.ingest(mkEvent(101, "INSTALL", nil))
		waitReceived(t, ctx, fs, "/acme/install", 1)
		p.open("/console/deliveries?event_id=101")
		p.waitText("#deliveries", "101")
		p.waitText("#deliveries tbody", "delivered")
		p.click(`#deliveries tr.row[data-partner="acme"]`)
		p.waitText(`#deliveries tr.row[data-partner="acme"] + tr.detail .request`, "/acme/install?click=clk-1")
	})

	journey(t, "trace the event", func(t *testing.T) {
		p.t = t
		p.click(`#deliveries tr.row[data-partner="acme"] a.trace-link`)
		p.waitURL("/console/trace")
		p.waitText(`#trace .trace-partner[data-partner="acme"]`, "delivered")
		p.waitText(`#trace .trace-partner[data-partner="acme"]`, "INSTALL")
		p.waitText(`#trace .trace-partner[data-partner="beacon"]`, "delivered")
		p.shot("trace")
	})

	journey(t, "pause a partner, its postbacks wait, resume, they arrive", func(t *testing.T) {
		p.t = t
		p.open("/console/partners")
		p.waitText("#partner-shop-acme", "healthy")
		// A test postback shows what was sent and what the partner said.
		p.click("#test-shop-acme")
		p.waitText("#test-response", "HTTP 200")
		p.waitText("#test-request", "/acme/install?click=adgate-test-click")
		p.typeInto("#reason-shop-acme", "partner maintenance", false)
		p.click("#pause-shop-acme")
		p.waitText("#partner-shop-acme", "partner maintenance")
		p.waitText("#partner-shop-acme", "paused")
		before := fs.received("/acme/")
		beacon := fs.received("/beacon/")
		e.ingest(mkEvent(102, "INSTALL", nil))
		// beacon is not paused: its postback shows the event went through.
		waitReceived(t, ctx, fs, "/beacon/", beacon+1)
		p.refreshUntil("#refresh", "#partner-shop-acme .backlog", func(s string) bool { return !strings.HasPrefix(s, "0 queued") || strings.Contains(s, "to render") })
		p.shot("partners")
		p.open("/console/deliveries?event_id=102&partner=acme")
		p.waitJS("the deliveries search to finish", `const r = document.querySelector('#delivery-results'); return !!r && !r.querySelector('.loading') && r.innerText !== '';`)
		if got := p.text("#delivery-results"); strings.Contains(got, "delivered") {
			t.Fatalf("a paused partner's postback shows as delivered: %q", got)
		}
		if n := fs.received("/acme/"); n != before {
			t.Fatalf("the sink got %d acme postbacks while acme was paused", n-before)
		}
		p.open("/console/partners")
		p.click("#resume-shop-acme")
		p.waitText("#partner-shop-acme", "healthy")
		waitReceived(t, ctx, fs, "/acme/", before+1)
		p.open("/console/deliveries?event_id=102&partner=acme")
		p.waitText("#deliveries tbody", "delivered")
	})

	journey(t, "replay a dead letter", func(t *testing.T) {
		p.t = t
		fs.on.Store(true)
		beacon := fs.received("/beacon/")
		e.ingest(mkEvent(103, "INSTALL", nil))
		p.open("/console/deadletters?partner=beacon")
		row := `#deadletters tr[data-event="103"]`
		p.refreshUntil("#dl-search", "#main", func(s string) bool { return strings.Contains(s, "103") })
		p.waitText(row, "4xx")
		p.click(row + ` input[type="checkbox"]`)
		p.waitText("#selected-count", "1 selected")
		p.click("#dry-run")
		p.waitText("#dry-run-result", "1 dead letter would be replayed")
		p.shot("deadletters")
		fs.on.Store(false)
		p.click("#replay")
		if err := b.AcceptAlert(ctx); err != nil {
			t.Fatal(err)
		}
		p.waitText("#replayed", "Replayed 1 dead letter")
		waitReceived(t, ctx, fs, "/beacon/", beacon+1)
		p.open("/console/deliveries?event_id=103&partner=beacon")
		p.waitText("#deliveries tbody", "delivered")
		// The dead attempt opens to what the partner answered.
		p.click(`#deliveries tr.row[data-status="dead"]`)
		p.waitText(`#deliveries tr.row[data-status="dead"] + tr.detail .response`, "partner endpoint rejects this account")
		p.shot("deliveries")
	})

	journey(t, "overview", func(t *testing.T) {
		p.t = t
		p.open("/console/overview")
		p.waitJS("the events tile to count the events", `const e = document.querySelector('#tile-events .num'); return !!e && Number(e.innerText.replace(/\D/g, '')) >= 3;`)
		p.waitText("#partner-health", "shop/acme")
		p.waitJS("a plot per chart", `return document.querySelectorAll('.chart svg path.line').length > 0;`)
		p.shot("overview")
		p.click("#window-24h")
		p.waitJS("the 24h window", `return document.querySelector('#window-24h').classList.contains('on') && !document.querySelector('#main .loading');`)
	})

	journey(t, "page through deliveries", func(t *testing.T) {
		p.t = t
		// 30 more events, two postbacks each: more than a page of 50.
		acme, beacon := fs.received("/acme/"), fs.received("/beacon/")
		for i := range 30 {
			e.ingest(mkEvent(int64(300+i), "INSTALL", nil))
		}
		waitReceived(t, ctx, fs, "/acme/", acme+30)
		waitReceived(t, ctx, fs, "/beacon/", beacon+30)
		rows := `return document.querySelectorAll('#deliveries tr.row').length;`
		p.open("/console/deliveries?app=shop")
		p.waitJS("a first page of 50", `return document.querySelectorAll('#deliveries tr.row').length === 50;`)
		p.click("#more")
		p.waitJS("the next page appended", `return document.querySelectorAll('#deliveries tr.row').length > 50;`)
		var n int
		if err := p.b.Exec(ctx, rows, &n); err != nil {
			t.Fatal(err)
		}
		// No attempt shows twice across the pages.
		var dup bool
		if err := p.b.Exec(ctx, `const seen = new Set(); for (const r of document.querySelectorAll('#deliveries tr.row')) { const k = r.dataset.postback + '/' + r.children[5].innerText + '/' + r.dataset.status; if (seen.has(k)) return true; seen.add(k); } return false;`, &dup); err != nil {
			t.Fatal(err)
		}
		if dup {
			t.Fatalf("an attempt shows twice across %d rows", n)
		}
	})

	journey(t, "render in the playground", func(t *testing.T) {
		p.t = t
		p.open("/console/playground")
		p.waitText("#pg-results", "https://postback.example.com/install?click=adgate-test-click")
		p.waitText("#pg-findings", "No findings")
		// A macro no parameter defines, typed at the end of line 5 (the
		// url): a finding at that line, and nothing rendered.
		if err := p.b.Exec(ctx, `const t = document.getElementById('pg-spec-text'); const lines = t.value.split('\n'); let off = 0; for (let i = 0; i < 5; i++) off += lines[i].length + 1; t.focus(); t.setSelectionRange(off - 1, off - 1);`, nil); err != nil {
			t.Fatal(err)
		}
		p.typeInto("#pg-spec-text", "&extra={undefined_macro}", false)
		p.waitText("#pg-findings", "undefined_macro")
		p.waitJS("the gutter to mark line 5", `const d = document.querySelector('.gutter div[data-line="5"]'); return !!d && d.classList.contains('error');`)
		if got := p.text("#pg-findings li"); !strings.HasPrefix(got, "5:") {
			t.Fatalf("first finding %q is not at line 5", got)
		}
		if got := p.text("#pg-results"); strings.Contains(got, "postback.example.com") {
			t.Fatalf("a spec with an error still shows a request: %q", got)
		}
		// Fixed, plus a parameter no postback uses yet: a warning at its
		// line, and the request renders.
		if err := p.b.Exec(ctx, `const t = document.getElementById('pg-spec-text'); t.value = t.value.replace('&extra={undefined_macro}', '') + '  - macro: version\n    branch: APP_VERSION\n'; t.dispatchEvent(new Event('input'));`, nil); err != nil {
			t.Fatal(err)
		}
		p.waitText("#pg-findings", "unused-parameter")
		p.waitJS("the gutter to mark line 14 as a warning", `const d = document.querySelector('.gutter div[data-line="14"]'); return !!d && d.classList.contains('warning');`)
		p.waitText("#pg-results", "https://postback.example.com/install?click=adgate-test-click")
		if err := p.b.Exec(ctx, `document.getElementById('pg-spec-text').scrollLeft = 0;`, nil); err != nil {
			t.Fatal(err)
		}
		p.shot("playground")
		// Used: the request carries it and the explain view says where it
		// came from.
		if err := p.b.Exec(ctx, `const t = document.getElementById('pg-spec-text'); t.value = t.value.replace('&event={event}', '&event={event}&v={version}'); t.dispatchEvent(new Event('input'));`, nil); err != nil {
			t.Fatal(err)
		}
		p.waitText("#pg-results", "&v=1.0.0")
		p.waitText("#pg-results .explain", "APP_VERSION")
		p.waitText("#pg-findings", "No findings")
		// A loaded spec, with its app's settings: its credential is a
		// placeholder, never the config's value.
		if err := p.b.Exec(ctx, `const s = document.getElementById('pg-spec'); s.value = 'acme'; s.dispatchEvent(new Event('change'));`, nil); err != nil {
			t.Fatal(err)
		}
		p.waitJS("the acme spec in the editor", `return document.getElementById('pg-spec-text').value.includes('id: acme');`)
		p.waitText("#pg-results", "key=CREDENTIAL-api_key")
		if got := p.text("#pg-results"); strings.Contains(got, "acme key") || strings.Contains(got, "acme%20key") || strings.Contains(got, "acme+key") {
			t.Fatalf("the playground shows the config's credential: %q", got)
		}
	})

	journey(t, "read-only session", func(t *testing.T) {
		p.t = t
		p.open("/console/overview")
		p.click("#logout")
		p.waitURL("/console/login")
		p.typeInto("#token", testReadOnlyToken, false)
		p.click("#login-submit")
		p.waitText("#role", "read-only")
		p.open("/console/deadletters")
		p.waitText(".read-only-note", "Read-only session")
		p.waitJS("every change button disabled", `return ['#dry-run', '#replay', '#rerender'].every((s) => { const e = document.querySelector(s); return !!e && e.disabled; });`)
		p.open("/console/partners")
		p.waitText("#partner-shop-acme", "acme")
		p.waitJS("pause and test disabled", `return ['#pause-shop-acme', '#test-shop-acme', '#reason-shop-acme'].every((s) => { const e = document.querySelector(s); return !!e && e.disabled; });`)
		// The server refuses the session's changes whatever the page does.
		var status int
		if err := b.Exec(ctx, `const s = await (await fetch('/console/session')).json();
			const r = await fetch('/v1/deadletters/replay', {method: 'POST', headers: {'X-CSRF-Token': s.csrf_token, 'Content-Type': 'application/json'}, body: '{"ids":["x"]}'});
			return r.status;`, &status); err != nil {
			t.Fatal(err)
		}
		if status != http.StatusForbidden {
			t.Fatalf("a read-only session's replay answered %d", status)
		}
	})

	journey(t, "log out", func(t *testing.T) {
		p.t = t
		p.open("/console/overview")
		p.click("#logout")
		p.waitURL("/console/login")
		p.open("/console/deliveries")
		p.waitURL("/console/login")
		// The API refuses the browser too: its cookie is gone.
		var status int
		if err := b.Exec(ctx, `const r = await fetch('/v1/deliveries'); return r.status;`, &status); err != nil {
			t.Fatal(err)
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("after logout the API answers %d", status)
		}
	})
}

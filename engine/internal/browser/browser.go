// Package browser drives a headless Chromium through chromedriver with the
// W3C WebDriver protocol over plain HTTP: enough to log in to the console,
// click, type, read the page and take screenshots in tests.
package browser

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Default paths of Debian's chromium and chromium-driver packages.
const (
	DefaultDriver  = "/usr/bin/chromedriver"
	DefaultChrome  = "/usr/bin/chromium"
	elementKey     = "element-6066-11e4-a52e-4f735466cecf"
	startupTimeout = 20 * time.Second
)

// ErrNotInstalled means chromedriver or chromium is missing.
var ErrNotInstalled = errors.New("browser: chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)")

// Options configure Start.
type Options struct {
	Driver, Chrome string
	// Width and Height of the window; 0 means 1366×900.
	Width, Height int
	// ProfileDir is a fresh, empty user data directory.
	ProfileDir string
	// Log receives chromedriver's output; nil discards it.
	Log io.Writer
}

// Browser is a running chromedriver with one browser session.
type Browser struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port/session/<id>
	client  *http.Client
	timeout time.Duration
}

// Installed reports whether the driver and browser binaries exist.
func Installed(o Options) error {
	o = o.withDefaults()
	for _, p := range []string{o.Driver, o.Chrome} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotInstalled, p, err)
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Driver == "" {
		o.Driver = DefaultDriver
	}
	if o.Chrome == "" {
		o.Chrome = DefaultChrome
	}
	if o.Width == 0 {
		o.Width, o.Height = 1366, 900
	}
	return o
}

// Start runs chromedriver on a free port and opens a headless browser
// session. Close ends both.
func Start(ctx context.Context, o Options) (*Browser, error) {
	o = o.withDefaults()
	if err := Installed(o); err != nil {
		return nil, err
	}
	if o.ProfileDir == "" {
		return nil, errors.New("browser: Options.ProfileDir is required (a fresh directory)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.Driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	if o.Log != nil {
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browser: start chromedriver: %w", err)
	}
	b := &Browser{cmd: cmd, client: &http.Client{Timeout: 60 * time.Second}, timeout: 60 * time.Second}
	root := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitDriver(ctx, b.client, root); err != nil {
		b.kill()
		return nil, err
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": o.Chrome,
			"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
				fmt.Sprintf("--window-size=%d,%d", o.Width, o.Height), "--user-data-dir=" + o.ProfileDir},
		},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.do(ctx, http.MethodPost, root+"/session", caps, &sess); err != nil {
		b.kill()
		return nil, fmt.Errorf("browser: new session: %w", err)
	}
	b.base = root + "/session/" + sess.SessionID
	return b, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("browser: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitDriver(ctx context.Context, c *http.Client, root string) error {
	deadline := time.Now().Add(startupTimeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, root+"/status", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("browser: chromedriver did not answer within %v: %v", startupTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close ends the browser session and stops chromedriver.
func (b *Browser) Close() {
	if b.base != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = b.do(ctx, http.MethodDelete, b.base, nil, nil)
		cancel()
	}
	b.kill()
}

func (b *Browser) kill() {
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
	}
}

// wdError is a WebDriver error answer.
type wdError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// do sends one WebDriver command and decodes its "value" into out.
func (b *Browser) do(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		js, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("webdriver %s: answer %d not JSON: %.200s", url, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e wdError
		_ = json.Unmarshal(env.Value, &e)
		msg, _, _ := strings.Cut(e.Message, "\n")
		return fmt.Errorf("webdriver: %s: %s", e.Error, msg)
	}
	if out != nil {
		return json.Unmarshal(env.Value, out)
	}
	return nil
}

func (b *Browser) cmdf(ctx context.Context, method, path string, in, out any) error {
	return b.do(ctx, method, b.base+path, in, out)
}

// Navigate loads url.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	return b.cmdf(ctx, http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// URL is the current page's address.
func (b *Browser) URL(ctx context.Context) (string, error) {
	var u string
	err := b.cmdf(ctx, http.MethodGet, "/url", nil, &u)
	return u, err
}

// Element is a found DOM element.
type Element struct {
	b  *Browser
	id string
}

// Find returns the first element matching the CSS selector.
func (b *Browser) Find(ctx context.Context, css string) (*Element, error) {
	var v map[string]string
	if err := b.cmdf(ctx, http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &v); err != nil {
		return nil, fmt.Errorf("find %q: %w", css, err)
	}
	return &Element{b: b, id: v[elementKey]}, nil
}

// Click clicks the element.
func (e *Element) Click(ctx context.Context) error {
	return e.b.cmdf(ctx, http.MethodPost, "/element/"+e.id+"/click", map[string]any{}, nil)
}

// Clear empties an input or textarea.
func (e *Element) Clear(ctx context.Context) error {
	return e.b.cmdf(ctx, http.MethodPost, "/element/"+e.id+"/clear", map[string]any{}, nil)
}

// SendKeys types text into the element.
func (e *Element) SendKeys(ctx context.Context, text string) error {
	return e.b.cmdf(ctx, http.MethodPost, "/element/"+e.id+"/value", map[string]string{"text": text}, nil)
}

// Text is the element's rendered text.
func (e *Element) Text(ctx context.Context) (string, error) {
	var s string
	err := e.b.cmdf(ctx, http.MethodGet, "/element/"+e.id+"/text", nil, &s)
	return s, err
}

// Exec runs a script in the page (its arguments are arguments[0...]) and
// decodes its return value into out (nil: ignored).
func (b *Browser) Exec(ctx context.Context, script string, out any, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return b.cmdf(ctx, http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// Screenshot returns a PNG of the viewport.
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	var s string
	if err := b.cmdf(ctx, http.MethodGet, "/screenshot", nil, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}

// SetWindowSize resizes the window (for screenshots of a whole page).
func (b *Browser) SetWindowSize(ctx context.Context, w, h int) error {
	return b.cmdf(ctx, http.MethodPost, "/window/rect", map[string]int{"width": w, "height": h}, nil)
}

// AcceptAlert accepts an open confirm() or alert() dialog.
func (b *Browser) AcceptAlert(ctx context.Context) error {
	return b.cmdf(ctx, http.MethodPost, "/alert/accept", map[string]any{}, nil)
}

// Wait polls cond every 50 ms until it reports true or within passes; its
// last error (or a timeout) is returned then.
func Wait(ctx context.Context, within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("waited %v for %s: %w", within, what, last)
			}
			return fmt.Errorf("waited %v for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Command loadtest measures `adgate serve` ingest on loopback, comparing
// adgate binaries in one interleaved run (issue 9 item 2):
//
//	go build -o /tmp/adgate-new ./cmd/adgate
//	git worktree add /tmp/base <base commit> && (cd /tmp/base && go build -o /tmp/adgate-base ./cmd/adgate)
//	go run ./engine/internal/bench/loadtest -bin base=/tmp/adgate-base -bin new=/tmp/adgate-new
//
// For every scenario and round it starts each binary in turn on a fresh
// data dir with a generated config, posts single events from -c closed-loop
// clients, and records each answer's latency. Scenarios:
//
//   - partners=N (for each N of -partners): one app enabling N plain
//     partners; reports ingest p50/p99, the process CPU per event while
//     ingesting, and the CPU per event until every postback reached the
//     in-process sink (-deliver-to).
//   - plain / slow: one app with two partners, neither with a template
//     (plain), or one of them with a template that burns the sandbox's step
//     budget (~100 ms of CPU) on every render and then fails (slow).
//
// Everything listens on 127.0.0.1; every run is bounded by -timeout.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adgate/adgate/engine/internal/sink"
)

type binFlag []struct{ name, path string }

func (b *binFlag) String() string { return fmt.Sprint(*b) }
func (b *binFlag) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want NAME=PATH")
	}
	*b = append(*b, struct{ name, path string }{name, path})
	return nil
}

type options struct {
	bins        binFlag
	partners    []int
	events      int
	slowEvents  int
	concurrency int
	rounds      int
	timeout     time.Duration
}

func main() {
	var o options
	var partners string
	flag.Var(&o.bins, "bin", "`NAME=PATH` of an adgate binary (repeat; runs are interleaved in this order)")
	flag.StringVar(&partners, "partners", "1,10,60", "comma-separated partner counts of the CPU scenarios")
	flag.IntVar(&o.events, "events", 1000, "events per CPU scenario run")
	flag.IntVar(&o.slowEvents, "slow-events", 400, "events per plain/slow scenario run")
	flag.IntVar(&o.concurrency, "c", 4, "concurrent closed-loop clients")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of every scenario and binary")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "bound of one run")
	flag.Parse()
	if len(o.bins) == 0 {
		fmt.Fprintln(os.Stderr, "loadtest: give at least one -bin NAME=PATH")
		os.Exit(2)
	}
	for _, p := range strings.Split(partners, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "loadtest: bad partner count %q\n", p)
			os.Exit(2)
		}
		o.partners = append(o.partners, n)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type scenario struct {
	name     string
	partners int
	slow     bool // the first partner's template is slow and fails
	events   int
	// deliveries expected at the sink before the run ends (0: do not wait)
	deliveries int
}

type result struct {
	p50, p99         time.Duration
	ingestCPU, total time.Duration // per event
}

func run(ctx context.Context, o options) error {
	var scs []scenario
	for _, n := range o.partners {
		scs = append(scs, scenario{name: fmt.Sprintf("partners=%d", n), partners: n, events: o.events, deliveries: n * o.events})
	}
	scs = append(scs,
		scenario{name: "plain", partners: 2, events: o.slowEvents, deliveries: 2 * o.slowEvents},
		scenario{name: "slow", partners: 2, slow: true, events: o.slowEvents, deliveries: o.slowEvents})
	results := map[string][]result{} // scenario/bin
	for round := range o.rounds {
		for _, sc := range scs {
			for _, b := range o.bins {
				rctx, cancel := context.WithTimeout(ctx, o.timeout)
				r, err := runOne(rctx, b.path, sc, o.concurrency)
				cancel()
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", round+1, sc.name, b.name, err)
				}
				fmt.Fprintf(os.Stderr, "round %d %-12s %-6s p50 %6.2f ms  p99 %7.2f ms  ingest CPU %6.0f µs/event  total CPU %6.0f µs/event\n",
					round+1, sc.name, b.name, ms(r.p50), ms(r.p99), us(r.ingestCPU), us(r.total))
				results[sc.name+"/"+b.name] = append(results[sc.name+"/"+b.name], r)
			}
		}
	}
	fmt.Printf("| scenario | binary | ingest p50 ms | ingest p99 ms | CPU µs/event while ingesting | CPU µs/event until delivered |\n|---|---|---|---|---|---|\n")
	for _, sc := range scs {
		for _, b := range o.bins {
			rs := results[sc.name+"/"+b.name]
			// The median of the rounds: the machine is shared.
			pick := func(f func(result) time.Duration) time.Duration {
				v := make([]time.Duration, len(rs))
				for i, r := range rs {
					v[i] = f(r)
				}
				slices.Sort(v)
				return v[len(v)/2]
			}
			total := "—"
			if sc.deliveries == sc.partners*sc.events {
				total = fmt.Sprintf("%.0f", us(pick(func(r result) time.Duration { return r.total })))
			}
			fmt.Printf("| %s | %s | %.2f | %.2f | %.0f | %s |\n", sc.name, b.name,
				ms(pick(func(r result) time.Duration { return r.p50 })), ms(pick(func(r result) time.Duration { return r.p99 })),
				us(pick(func(r result) time.Duration { return r.ingestCPU })), total)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// slowTemplate hashes a 30,000-byte string until the sandbox's step budget
// runs out (about 100 ms of CPU), then fails.
var slowTemplate = `<#assign s = "` + strings.Repeat("a", 30000) + `"><@loop data=sprig.until(10000) val="i"><#assign h = sprig.sha256sum(s)></@loop>`

func writeSetup(dir string, sc scenario) (string, error) {
	pdir := filepath.Join(dir, "partners")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return "", err
	}
	var cfg strings.Builder
	cfg.WriteString("partners_dir: partners\ndata_dir: data\nlimits:\n  max_concurrent_ingest: 256\napps:\n  - id: shop\n    ingest:\n      bearer_tokens: [shop-token-123]\n    partners:\n")
	for i := range sc.partners {
		id := fmt.Sprintf("p%03d", i)
		tmpl := ""
		if sc.slow && i == 0 {
			tmpl = "    template: '" + slowTemplate + "'\n"
		}
		spec := fmt.Sprintf(`id: %[1]s
name: Load partner %[1]s
postbacks:
  - events: [INSTALL, PURCHASE]
    url: http://%[1]s.partner.example/pb?click={click_id}&aaid={aaid}&event={event}&revenue={revenue}&key={api_key}
parameters:
  - macro: click_id
    branch: CLICK_ID
    link_macro: "{click}"
  - macro: aaid
    branch: AAID
  - macro: event
    branch: EVENT_NAME
%[2]s  - macro: revenue
    branch: PURCHASE_REVENUE
  - macro: api_key
    branch: ACCOUNT_CREDENTIAL
    label: API key
`, id, tmpl)
		if err := os.WriteFile(filepath.Join(pdir, id+".yaml"), []byte(spec), 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(&cfg, "      - id: %s\n        scope: all\n        credentials: {api_key: key-%d}\n        delivery:\n          concurrency: 16\n", id, i)
	}
	path := filepath.Join(dir, "gateway.yaml")
	return path, os.WriteFile(path, []byte(cfg.String()), 0o644)
}

func runOne(ctx context.Context, bin string, sc scenario, concurrency int) (result, error) {
	dir, err := os.MkdirTemp("", "adgate-loadtest-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	cfg, err := writeSetup(dir, sc)
	if err != nil {
		return result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	sk := sink.New(sink.Options{Keep: 1})
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() {
		defer close(sdone)
		_ = sink.Serve(sctx, ln, sk, time.Second)
	}()
	defer func() { scancel(); <-sdone }()

	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--deliver-to", "http://"+ln.Addr().String())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	addr := make(chan string, 1)
	var logs bytes.Buffer
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logMu.Lock()
			if logs.Len() < 1<<16 {
				logs.Write(append(sc.Bytes(), '\n'))
			}
			logMu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "adgate gateway listening" {
				addr <- rec.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		return result{}, fmt.Errorf("adgate serve did not start:\n%s", logs.String())
	}
	if err := waitReady(ctx, base); err != nil {
		return result{}, err
	}

	pid := cmd.Process.Pid
	cpu0, err := procCPU(pid)
	if err != nil {
		return result{}, err
	}
	lat, err := ingest(ctx, base, sc.events, concurrency)
	if err != nil {
		return result{}, err
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return result{}, err
	}
	r := result{ingestCPU: (cpu1 - cpu0) / time.Duration(sc.events)}
	slices.Sort(lat)
	r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	if sc.deliveries > 0 {
		if _, err := sk.Wait(ctx, sc.deliveries); err != nil {
			return result{}, fmt.Errorf("waiting for %d deliveries (sink has %d): %w", sc.deliveries, sk.Count(), err)
		}
		cpu2, err := procCPU(pid)
		if err != nil {
			return result{}, err
		}
		r.total = (cpu2 - cpu0) / time.Duration(sc.events)
	}
	return r, nil
}

func waitReady(ctx context.Context, base string) error {
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never became ready: %w", base, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ingest posts n single events from c clients and returns each latency.
func ingest(ctx context.Context, base string, n, c int) ([]time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}, Timeout: time.Minute}
	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, n)
		next int
		werr error
		wg   sync.WaitGroup
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || werr != nil
				mu.Unlock()
				if stop || ctx.Err() != nil {
					return
				}
				body := event(i)
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/apps/shop/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer shop-token-123")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("ingest answered %d", resp.StatusCode)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil && werr == nil {
					werr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if werr != nil {
		return nil, werr
	}
	return lat, nil
}

func event(i int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"name":"INSTALL","timestamp":1767225600000,"user_data":{"os":"ANDROID","aaid":"38400000-8cf0-11bd-b23e-10b96e40000d","country":"US"},"last_attributed_touch_data":{"~click_id":"clk-%d","$3p":"a_acme"},"event_data":{"revenue":19.99,"currency":"USD"}}`, 800000000000000000+i, i)
}

// procCPU is the user+system CPU time of a process, from /proc (Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process CPU time: %w", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 14th and 15th fields of the line.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("process CPU time: short /proc stat line")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("process CPU time: unreadable /proc stat line")
	}
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

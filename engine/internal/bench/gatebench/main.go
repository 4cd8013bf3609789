// Command gatebench measures adgate end to end against the floor of the
// machine it runs on, in one run and interleaved:
//
//	go run ./engine/internal/bench/gatebench -rounds 3 -o e2e.txt
//	benchstat -col /sys e2e.txt
//
// Each measurement starts a fresh process: either `adgate serve` (ingest,
// JetStream queue, delivery) or the floor, this program re-executed as a
// bare Go handler that takes the POST and sends one request per partner
// with a plain net/http client. Both deliver to the same minimal receiver
// in this process, over loopback. The figures are the measured process's
// own CPU time (utime+stime from /proc/PID/stat) per event and per
// postback, events/s from the first POST to the last postback received,
// the ingest latency (POST to 202) at p50 and p99, and the peak RSS
// (VmHWM). With -base, a second adgate binary runs beside them as
// sys=base, for a before/after comparison in the same run. With -jsfloor,
// the durable floor runs as sys=jsfloor: the floor with a JetStream stream
// (embedded server, file storage) between its handler and its senders, to
// show how much of adgate's cost the queue itself sets. Scenarios: 1, 5, 20 and 60 enabled partners, 1 KB and 20 KB
// events, at saturation (-conc senders, no pause) and at a fixed rate
// (-rate events/s). adgate and the floor alternate within every scenario,
// the first of the pair changing every round, so slow phases of a shared
// machine fall on both. Every run is bounded in events (-events, scaled
// down with partners by -max-postbacks) and in time (-timeout).
//
// Output is one benchstat line per run, named
// BenchmarkE2E/sys=adgate|floor|base|jsfloor/partners=N/event=SIZE/load=sat|rate.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type options struct {
	adgate       string
	base         string
	rounds       int
	partners     []int
	sizes        []int
	loads        []string
	events       int
	maxPostbacks int
	conc         int
	rate         int
	timeout      time.Duration
	out          string
	perf         string
	jsfloor      bool
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "floor" || os.Args[1] == "jsfloor") {
		run := runFloor
		if os.Args[1] == "jsfloor" {
			run = runJSFloor
		}
		if err := run(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "gatebench %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	var o options
	var partners, sizes, loads string
	flag.StringVar(&o.adgate, "adgate", "", "adgate `binary` to measure (default: build ./cmd/adgate into a temporary directory)")
	flag.StringVar(&o.base, "base", "", "a second adgate `binary` (say, built from the base commit) measured as sys=base beside the others")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved `rounds` of every scenario")
	flag.StringVar(&partners, "partners", "1,5,20,60", "enabled partner `counts`, comma-separated")
	flag.StringVar(&sizes, "sizes", "1024,20480", "event `sizes` in bytes, comma-separated")
	flag.StringVar(&loads, "loads", "sat,rate", "`loads`: sat (saturation), rate (fixed -rate)")
	flag.IntVar(&o.events, "events", 3000, "events per run at most (`N`)")
	flag.IntVar(&o.maxPostbacks, "max-postbacks", 30000, "postbacks per run at most (`N`): fewer events with many partners")
	flag.IntVar(&o.conc, "conc", 16, "concurrent senders at saturation (`N`)")
	flag.IntVar(&o.rate, "rate", 1000, "events per second of the fixed-rate load (`N`), lowered to keep -max-postbacks/3 postbacks per second")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "bound of one run (`DURATION`)")
	flag.StringVar(&o.out, "o", "", "also write the results to `FILE`")
	flag.BoolVar(&o.jsfloor, "jsfloor", false, "also measure sys=jsfloor: the floor with a JetStream stream between its handler and its senders")
	flag.StringVar(&o.perf, "perf", "", "record each measured window with perf record -g into `DIR` (one file per run, for perf report)")
	flag.Parse()
	var err error
	if o.partners, err = ints(partners); err == nil {
		o.sizes, err = ints(sizes)
	}
	o.loads = strings.Split(loads, ",")
	if err == nil {
		err = run(context.Background(), o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatebench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// receiver is the minimal partner endpoint: it counts requests.
type receiver struct {
	n    atomic.Int64
	addr string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.n.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// waitFor waits until the receiver has counted n requests.
func (r *receiver) waitFor(ctx context.Context, n int64) error {
	for r.n.Load() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("receiver has %d of %d postbacks: %w", r.n.Load(), n, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "gatebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.adgate == "" {
		o.adgate = filepath.Join(dir, "adgate")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", o.adgate, "./cmd/adgate")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building adgate (run from the repository root, or pass -adgate): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rcv := &receiver{addr: ln.Addr().String()}
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var out io.Writer = os.Stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = io.MultiWriter(os.Stdout, f)
	}
	fmt.Fprintf(out, "goos: linux\npkg: github.com/adgate/adgate/engine/internal/bench/gatebench\n")
	fmt.Fprintf(os.Stderr, "gatebench: %d rounds, receiver %s, adgate %s\n", o.rounds, rcv.addr, o.adgate)
	for round := range o.rounds {
		for _, p := range o.partners {
			for _, size := range o.sizes {
				for _, load := range o.loads {
					systems := []string{"adgate", "floor"}
					if o.base != "" {
						systems = append(systems, "base")
					}
					if o.jsfloor {
						systems = append(systems, "jsfloor")
					}
					// rotate, so each system is first in turn
					for range round % len(systems) {
						systems = append(systems[1:], systems[0])
					}
					for _, sys := range systems {
						sc := scenario{sys: sys, partners: p, size: size, load: load}
						res, err := measure(ctx, o, sc, dir, self, rcv)
						if err != nil {
							return fmt.Errorf("%s: %w", sc.name(), err)
						}
						fmt.Fprintln(out, res)
					}
				}
			}
		}
	}
	return nil
}

type scenario struct {
	sys      string
	partners int
	size     int
	load     string
}

func (s scenario) name() string {
	size := strconv.Itoa(s.size) + "B"
	if s.size%1024 == 0 {
		size = strconv.Itoa(s.size/1024) + "KB"
	}
	return fmt.Sprintf("BenchmarkE2E/sys=%s/partners=%d/event=%s/load=%s", s.sys, s.partners, size, s.load)
}

// process is a started gateway or floor.
type process struct {
	cmd  *exec.Cmd
	base string
	log  string // its standard error
	done chan error
}

func (p *process) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		return errors.New("did not stop within 30s of SIGTERM")
	}
}

// cpu returns the process's user+system CPU time.
func (p *process) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// the fields after the command name, which is in parentheses
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	// USER_HZ is 100 on every Linux ABI Go runs on
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// peakRSS returns VmHWM in MB.
func (p *process) peakRSS() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// tail is the end of the log file at path, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func start(ctx context.Context, o options, sc scenario, dir, self string, rcv *receiver) (*process, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	if sc.sys != "floor" && sc.sys != "jsfloor" {
		bin := o.adgate
		if sc.sys == "base" {
			bin = o.base
		}
		run := filepath.Join(dir, fmt.Sprintf("run-%d", time.Now().UnixNano()))
		cfg, err := writeGateway(run, rcv.addr, sc.partners, sc.size)
		if err != nil {
			return nil, err
		}
		cmd = exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--listen", addr, "--log-level", "error")
	} else {
		cmd = exec.CommandContext(ctx, self, sc.sys, "-listen", addr, "-target", rcv.addr, "-partners", strconv.Itoa(sc.partners))
	}
	// The log goes to a file, so a run that fails can say why.
	stderr, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.log", sc.sys, time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, base: "http://" + addr, log: stderr.Name(), done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("%s exited before ready (%v): %s", sc.sys, err, tail(stderr.Name()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, fmt.Errorf("%s not ready within 30s: %s", sc.sys, tail(stderr.Name()))
		}
	}
}

type result struct {
	sc                scenario
	cpuEvent, cpuPost float64 // µs
	eventsPerSec      float64
	p50, p99          float64 // ms
	rssMB             float64
}

func (r result) String() string {
	return fmt.Sprintf("%s 1 %.1f cpu-us/event %.1f cpu-us/postback %.0f events/s %.6f p50-sec %.6f p99-sec %.1f maxrss-MB",
		r.sc.name(), r.cpuEvent, r.cpuPost, r.eventsPerSec, r.p50/1000, r.p99/1000, r.rssMB)
}

func measure(ctx context.Context, o options, sc scenario, dir, self string, rcv *receiver) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	p, err := start(ctx, o, sc, dir, self, rcv)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	events := min(o.events, max(o.maxPostbacks/sc.partners, 50))
	rate := min(o.rate, max(o.maxPostbacks/3/sc.partners, 1))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.conc * 4, MaxConnsPerHost: o.conc * 4}}
	bodies := makeEvents(events+20, sc.size)

	// warm up connections and what is built on first use (compiled
	// partners, queue consumers), then measure from a quiet point
	base := rcv.n.Load()
	if _, err := send(ctx, client, p.base, bodies[:20], o.conc, 0); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}
	if err := rcv.waitFor(ctx, base+int64(20*sc.partners)); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}

	base = rcv.n.Load()
	if o.perf != "" {
		stop, err := record(ctx, o.perf, sc, p.cmd.Process.Pid)
		if err != nil {
			return result{}, err
		}
		defer stop()
	}
	cpu0, err := p.cpu()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	r := 0
	if sc.load == "rate" {
		r = rate
	}
	lat, err := send(ctx, client, p.base, bodies[20:], o.conc, r)
	if err != nil {
		return result{}, fmt.Errorf("%w\n%s log:\n%s", err, sc.sys, tail(p.log))
	}
	want := base + int64(events*sc.partners)
	if err := rcv.waitFor(ctx, want); err != nil {
		return result{}, err
	}
	elapsed := time.Since(t0)
	cpu1, err := p.cpu()
	if err != nil {
		return result{}, err
	}
	rss, err := p.peakRSS()
	if err != nil {
		return result{}, err
	}
	cpu := cpu1 - cpu0
	slices.Sort(lat)
	res := result{
		sc:           sc,
		cpuEvent:     float64(cpu.Microseconds()) / float64(events),
		cpuPost:      float64(cpu.Microseconds()) / float64(events*sc.partners),
		eventsPerSec: float64(events) / elapsed.Seconds(),
		p50:          float64(lat[len(lat)/2].Microseconds()) / 1000,
		p99:          float64(lat[len(lat)*99/100].Microseconds()) / 1000,
		rssMB:        rss,
	}
	fmt.Fprintf(os.Stderr, "gatebench: %s: %d events, %d postbacks in %v, cpu %v, rate %d\n",
		sc.name(), events, events*sc.partners, elapsed.Round(time.Millisecond), cpu, r)
	return res, nil
}

// record runs perf record on pid until stop is called, writing
// DIR/<scenario>-<time>.data.
func record(ctx context.Context, dir string, sc scenario, pid int) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := strings.NewReplacer("/", "_", "=", "-").Replace(strings.TrimPrefix(sc.name(), "BenchmarkE2E/"))
	out := filepath.Join(dir, fmt.Sprintf("%s-%d.data", name, time.Now().UnixNano()))
	cmd := exec.CommandContext(ctx, "perf", "record", "-q", "-g", "-F", "999", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	// perf attaches asynchronously; a short wait keeps the start of the
	// window in the profile.
	time.Sleep(100 * time.Millisecond)
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}, nil
}

// send posts every body, from conc senders, and returns each POST's
// latency. rate > 0 paces the POSTs at rate per second (open loop: a POST
// is sent at its time even while others are outstanding).
func send(ctx context.Context, client *http.Client, base string, bodies [][]byte, conc, rate int) ([]time.Duration, error) {
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	post := func(i int) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/apps/bench/events", bytes.NewReader(bodies[i]))
		if err != nil {
			fail(err)
			return
		}
		req.Header.Set("Authorization", "Bearer bench-token")
		req.Header.Set("Content-Type", "application/json")
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			fail(err)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		lat[i] = time.Since(t)
		if resp.StatusCode != http.StatusAccepted {
			fail(fmt.Errorf("POST event: status %d: %s", resp.StatusCode, bytes.TrimSpace(body)))
		}
	}
	var wg sync.WaitGroup
	if rate > 0 {
		start := time.Now()
		sem := make(chan struct{}, 256)
		for i := range bodies {
			at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				post(i)
			}()
		}
	} else {
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(bodies) || ctx.Err() != nil {
						return
					}
					post(i)
				}
			}()
		}
	}
	wg.Wait()
	return lat, firstErr
}

// makeEvents builds n INSTALL events of about size bytes each, padded
// with custom_data strings as a large real event is.
func makeEvents(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, `{"name":"INSTALL","id":%d,"timestamp":1700000000000,"user_data":{"os":"ANDROID",`+
			`"aaid":"3f2a9c1e-5b7d-4e8f-a1b2-%012d","ip":"198.51.100.7","os_version":"14",`+
			`"user_agent":"Mozilla/5.0 (Linux; Android 14)","country":"US","language":"en"},"custom_data":{`,
			800000000000000000+i, i)
		for k := 0; b.Len() < size-40; k++ {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"field_%d":"value %d of a padding field"`, k, k)
		}
		b.WriteString("}}")
		out[i] = []byte(b.String())
	}
	return out
}

const specTemplate = `id: %s
name: Bench partner %s
postbacks:
  - events: [INSTALL]
    url: http://%s/%s/install?aaid={aaid}&key={api_key}&event={event}
parameters:
  - macro: aaid
    branch: AAID
  - macro: api_key
    branch: ACCOUNT_CREDENTIAL
    label: API key
  - macro: event
    branch: EVENT_NAME
`

// writeGateway writes a gateway.yaml with n enabled partners whose
// postbacks go to the receiver, and returns its path.
func writeGateway(dir, receiver string, n, size int) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "partners"), 0o755); err != nil {
		return "", err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "partners_dir: partners\ndata_dir: data\nadmin_token: bench-admin-token-1\n"+
		"limits:\n  max_body_bytes: %d\napps:\n  - id: bench\n    ingest:\n      bearer_tokens: [bench-token]\n"+
		"    app_bundles:\n      - os: ANDROID\n        android: {package_name: com.bench}\n    partners:\n", max(size*4, 65536))
	for i := range n {
		id := fmt.Sprintf("p%02d", i+1)
		spec := fmt.Sprintf(specTemplate, id, id, receiver, id)
		if err := os.WriteFile(filepath.Join(dir, "partners", id+".yaml"), []byte(spec), 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(&cfg, "      - id: %s\n        scope: all\n        credentials: {api_key: key-%s}\n"+
			"        delivery:\n          allow_hosts: [127.0.0.1]\n", id, id)
	}
	path := filepath.Join(dir, "gateway.yaml")
	return path, os.WriteFile(path, []byte(cfg.String()), 0o644)
}

// floorArgs are what both floors are started with.
type floorArgs struct {
	listen, target string
	partners       int
}

func parseFloorArgs(name string, args []string) (floorArgs, error) {
	var a floorArgs
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&a.listen, "listen", "127.0.0.1:0", "listen address")
	fs.StringVar(&a.target, "target", "", "receiver host:port")
	fs.IntVar(&a.partners, "partners", 1, "postbacks per event")
	return a, fs.Parse(args)
}

// get makes the GET of event n to partner i (0-based), the request both
// floors send, so they do the same delivery work.
func (a floorArgs) get(client *http.Client, i int, n int64) {
	resp, err := client.Get(fmt.Sprintf("http://%s/p%02d/install?aaid=a%d&key=k&event=INSTALL", a.target, i+1, n))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func floorClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}, Timeout: 10 * time.Second}
}

// serveFloor serves /readyz and ingest (the POST of an event) on
// a.listen until ctx ends.
func serveFloor(ctx context.Context, a floorArgs, ingest http.HandlerFunc) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /v1/apps/{app}/events", ingest)
	srv := &http.Server{Addr: a.listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// runFloor is the floor: a bare handler that reads the POST, answers 202
// and hands one GET per partner to a pool of plain-client senders, as a
// minimal non-durable relay would.
func runFloor(args []string) error {
	a, err := parseFloorArgs("floor", args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	client := floorClient()
	type postback struct {
		partner int
		event   int64
	}
	jobs := make(chan postback, 4096)
	for range 64 {
		go func() {
			for pb := range jobs {
				a.get(client, pb.partner, pb.event)
			}
		}()
	}
	var seq atomic.Int64
	return serveFloor(ctx, a, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := seq.Add(1)
		for i := range a.partners {
			jobs <- postback{i, n}
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// runJSFloor is the durable floor: the floor's bare handler, except that
// before answering 202 it publishes the event to a JetStream stream of an
// embedded NATS server (file storage, work-queue retention) and waits for
// the PubAck; one consumer goroutine fetches the stream's durable pull
// consumer in batches and hands each event to senders that make the
// floor's GET per partner and then ack it. It is the least a durable relay
// built on JetStream does per event, so the difference between it and the
// floor is what the queue itself costs on the machine.
func runJSFloor(args []string) error {
	a, err := parseFloorArgs("jsfloor", args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	dir, err := os.MkdirTemp("", "gatebench-jsfloor")
	if err != nil {
		return fmt.Errorf("stream directory: %w", err)
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true, // the relay is the only client, in process
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 4 << 20,
	})
	if err != nil {
		return fmt.Errorf("embedded NATS server: %w", err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(30 * time.Second) {
		return errors.New("embedded NATS server not ready within 30s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		return fmt.Errorf("connecting to the embedded NATS server: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "EVENTS", Subjects: []string{"events"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy,
	}); err != nil {
		return fmt.Errorf("creating the stream: %w", err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{
		Durable: "relay", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4096,
	})
	if err != nil {
		return fmt.Errorf("creating the consumer: %w", err)
	}

	client := floorClient()
	msgs := make(chan jetstream.Msg, 4096)
	var seq atomic.Int64
	for range 64 {
		go func() {
			for m := range msgs {
				n := seq.Add(1)
				for i := range a.partners {
					a.get(client, i, n)
				}
				_ = m.Ack()
			}
		}()
	}
	go func() {
		defer close(msgs)
		for ctx.Err() == nil {
			batch, err := cons.Fetch(256, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "gatebench jsfloor: fetch:", err)
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			for m := range batch.Messages() {
				msgs <- m
			}
		}
	}()

	return serveFloor(ctx, a, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := js.Publish(r.Context(), "events", body); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

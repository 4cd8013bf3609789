package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tutorialBlock is one fenced block of docs/tutorial.md.
type tutorialBlock struct {
	lang string // sh, text, json, yaml
	// mode is the word after sh: "" runs the block and wants exit 0,
	// "fails" wants a non-zero exit, "retry" reruns it until it exits 0,
	// "background" starts it and waits until it prints "listening".
	mode string
	text string
	line int
}

func parseTutorial(t *testing.T, path string) []tutorialBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []tutorialBlock
	var cur *tutorialBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			lang, mode, _ := strings.Cut(strings.TrimPrefix(line, "```"), " ")
			cur = &tutorialBlock{lang: lang, mode: mode, line: n}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed block", path, cur.line)
	}
	return blocks
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// syncWriter collects a background command's output.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestTutorial runs docs/tutorial.md: every sh block in order, in one
// temporary directory, with adgate on PATH (this test binary, see
// TestMain), and compares each text block with the output of the sh
// block before it. The sink and the gateway run for real, on free ports.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a gateway")
	}
	for _, tool := range []string{"bash", "curl", "grep", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the tutorial uses %s, which is not on PATH", tool)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, ".bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// adgate runs this binary as TestMain's child: arguments joined by
	// the separator runChild uses.
	wrapper := "#!/usr/bin/env bash\nIFS=$'\\x1f'\n" + childArgsEnv + "=\"$*\" exec " + shellQuote(self) + "\n"
	if err := os.WriteFile(filepath.Join(bin, "adgate"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ports := strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+freePort(t), "127.0.0.1:9999", "127.0.0.1:"+freePort(t))

	type bgProc struct {
		pid    int
		exited chan error
	}
	var bg []bgProc
	t.Cleanup(func() {
		for _, p := range bg {
			// SIGTERM to the block's process group (bash and adgate); the
			// gateway drains and exits before the directory is removed.
			_ = syscall.Kill(-p.pid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				_ = syscall.Kill(-p.pid, syscall.SIGKILL)
				t.Errorf("a background block did not stop on SIGTERM")
			}
		}
	})
	command := func(b tutorialBlock) *exec.Cmd {
		c := exec.Command("bash", "-e", "-c", ports.Replace(b.text))
		c.Dir, c.Env = dir, env
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return c
	}

	blocks := parseTutorial(t, filepath.Join("..", "..", "docs", "tutorial.md"))
	var last string // the output of the last sh block that ran
	ran := 0
	for i, b := range blocks {
		where := fmt.Sprintf("docs/tutorial.md:%d", b.line)
		switch {
		case b.lang == "text":
			if i == 0 || blocks[i-1].lang != "sh" {
				t.Fatalf("%s: a text block must follow the sh block whose output it shows", where)
			}
			if want := ports.Replace(b.text); last != want {
				t.Fatalf("%s: output differs\n got:\n%s\nwant:\n%s", where, last, want)
			}
		case b.lang != "sh":
		case b.mode == "background":
			out := &syncWriter{}
			c := command(b)
			c.Stdout, c.Stderr = out, out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- c.Wait() }()
			bg = append(bg, bgProc{pid: c.Process.Pid, exited: exited})
			if err := waitOutput(out, "listening", exited, 60*time.Second); err != nil {
				t.Fatalf("%s: %v\noutput:\n%s", where, err, out.String())
			}
			ran++
		default:
			deadline := time.Now().Add(60 * time.Second)
			for {
				out, err := command(b).CombinedOutput()
				last = string(out)
				ok := err == nil
				if b.mode == "fails" {
					var ee *exec.ExitError
					ok = errors.As(err, &ee)
				}
				if ok {
					break
				}
				if b.mode != "retry" || time.Now().After(deadline) {
					t.Fatalf("%s: %s\n%v\noutput:\n%s", where, b.text, err, out)
				}
				time.Sleep(100 * time.Millisecond)
			}
			ran++
		}
	}
	if ran < 15 {
		t.Errorf("ran %d sh blocks; the tutorial has more", ran)
	}
}

// waitOutput waits until w has printed marker, the command exited, or
// the time is up.
func waitOutput(w *syncWriter, marker string, exited <-chan error, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(w.String(), marker) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before printing %q: %v", marker, err)
		case <-ctx.Done():
			return fmt.Errorf("did not print %q within %v", marker, within)
		case <-tick.C:
		}
	}
	return nil
}

package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Paths of the shared material, relative to this package; FMORACLE and
// CORPUS override them.
const (
	defaultOracle = "../../../../shared/tools/fmoracle"
	defaultCorpus = "../../../../shared/corpus"
	freemarkerJar = "/usr/share/java/freemarker.jar"
)

func oracleDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FMORACLE")
	if dir == "" {
		dir = defaultOracle
	}
	if _, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil {
		t.Skipf("FreeMarker oracle absent (%v): set FMORACLE to the fmoracle directory; the differential test did not run", err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java is not installed: the differential test against Apache FreeMarker did not run (CI installs it)")
	}
	jar := os.Getenv("FM_JAR")
	if jar == "" {
		jar = freemarkerJar
	}
	if _, err := os.Stat(jar); err != nil {
		t.Skipf("%s is absent (apt-get install -y libfreemarker-java): the differential test did not run", jar)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func corpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CORPUS")
	if dir == "" {
		dir = defaultCorpus
	}
	if _, err := os.Stat(filepath.Join(dir, "partner-docs")); err != nil {
		t.Skipf("corpus absent (%v): set CORPUS; the corpus differential test did not run", err)
	}
	return dir
}

// tcase is one template run against one data model.
type tcase struct {
	name   string // unique, used as the oracle's file name
	text   string // what engine/template parses (Branch dialect)
	oracle string // what FreeMarker parses (dialect rewritten)
	origin string // where the template comes from, for failure messages
}

// result of one engine on one case.
type result struct {
	out string
	err string // empty on success
}

// runOracle renders every case against the model with FreeMarker in one
// JVM, and returns the results by case name. tmp is a fresh directory.
func runOracle(dir, tmp string, model []byte, cases []tcase) (map[string]result, error) {
	data := filepath.Join(tmp, "model.json")
	if err := os.WriteFile(data, model, 0o644); err != nil {
		return nil, err
	}
	// without the blocklist: the constructs Branch blocks that adgate
	// runs (<#list>) are compared too, and those adgate refuses are an
	// error here whatever FreeMarker does
	args := []string{"--no-blocklist", "--number-format", "computer", "--boolean-format", "c", data}
	for _, c := range cases {
		f := filepath.Join(tmp, c.name)
		if err := os.WriteFile(f, []byte(c.oracle), 0o644); err != nil {
			return nil, err
		}
		args = append(args, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "run.sh"), args...)
	cmd.Env = append(os.Environ(), "FMORACLE_BUILD="+filepath.Join(os.TempDir(), "adgate-fmoracle-build"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// with one template the oracle prints bare output and exits 1 on error
	runErr := cmd.Run()
	out := stdout.String()
	res := make(map[string]result, len(cases))
	if len(cases) == 1 {
		if runErr != nil {
			res[cases[0].name] = result{err: strings.TrimSpace(stderr.String())}
		} else {
			res[cases[0].name] = result{out: out}
		}
		return res, nil
	}
	if runErr != nil {
		return nil, fmt.Errorf("oracle failed: %v\n%s", runErr, stderr.String())
	}
	pos := 0
	for i, c := range cases {
		hdr := "=== " + c.name + "\n"
		if !strings.HasPrefix(out[pos:], hdr) {
			return nil, fmt.Errorf("oracle output out of step at %s: %.200q", c.name, out[pos:])
		}
		pos += len(hdr)
		end := len(out)
		if i+1 < len(cases) {
			next := "\n=== " + cases[i+1].name + "\n"
			k := strings.Index(out[pos:], next)
			if k < 0 {
				return nil, fmt.Errorf("oracle output: no block for %s", cases[i+1].name)
			}
			end = pos + k + 1
		}
		block := strings.TrimSuffix(out[pos:end], "\n")
		if strings.HasPrefix(block, "!!! ERROR ") {
			res[c.name] = result{err: strings.TrimPrefix(block, "!!! ERROR ")}
		} else {
			res[c.name] = result{out: block}
		}
		pos = end
	}
	return res, nil
}

var tildeName = regexp.MustCompile(`\.([~+][A-Za-z0-9_$@]+)`)

// forOracle rewrites Branch's dotted ~/+ names (a.~b) to FreeMarker's
// a["~b"] inside FTL expressions; text outside ${...} and tags is kept.
func forOracle(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := indexAny3(s[i:])
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		if strings.HasPrefix(s[i:], "<#--") {
			end := strings.Index(s[i:], "-->")
			if end < 0 {
				b.WriteString(s[i:])
				break
			}
			b.WriteString(s[i : i+end+3])
			i += end + 3
			continue
		}
		closer := byte('>')
		if s[i] == '$' || s[i] == '#' && s[i+1] == '{' {
			closer = '}'
		}
		k := i + 2
		depth := 0
		var quote byte
		for k < len(s) {
			c := s[k]
			switch {
			case quote != 0:
				if c == '\\' {
					k++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '(' || c == '{' && closer == '}':
				depth++
			case c == ')' || c == '}' && closer == '}' && depth > 0:
				depth--
			case c == closer && depth == 0:
				goto done
			}
			k++
		}
	done:
		if k < len(s) {
			k++
		}
		b.WriteString(rewriteCode(s[i:k]))
		i = k
	}
	return b.String()
}

// rewriteCode applies the ~/+ rewrite to an FTL region, leaving string
// literals alone.
func rewriteCode(s string) string {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '"' && c != '\'' {
			continue
		}
		b.WriteString(tildeName.ReplaceAllString(s[start:i], `["$1"]`))
		j := i + 1
		for j < len(s) && s[j] != c {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			j = len(s) - 1
		}
		b.WriteString(s[i : j+1])
		start = j + 1
		i = j
	}
	if start < len(s) {
		b.WriteString(tildeName.ReplaceAllString(s[start:], `["$1"]`))
	}
	return b.String()
}

func indexAny3(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '$' || s[i] == '#') && s[i+1] == '{' || s[i] == '<' && (s[i+1] == '#' || s[i+1] == '@') {
			return i
		}
	}
	return -1
}

// buildModel turns an event (or an oracle data file, which already holds
// the model) into the template data model: event fields at the root,
// "event" aliasing the whole event, "app" and "ad_network" added when
// absent. Numbers stay exact (json.Number).
func buildModel(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, err
	}
	model := map[string]any{}
	event := map[string]any{}
	for k, v := range ev {
		model[k] = v
		if k != "app" && k != "ad_network" {
			event[k] = v
		}
	}
	if _, ok := model["event"]; !ok {
		model["event"] = event
	}
	if _, ok := model["app"]; !ok {
		model["app"] = map[string]any{"app_bundles": []any{
			map[string]any{"os": "ANDROID", "android": map[string]any{"package_name": "com.acme.shop"}},
			map[string]any{"os": "IOS", "ios": map[string]any{"bundle_id": "com.acme.Shop", "itunes_id": "id1234567890"}},
		}}
	}
	if _, ok := model["ad_network"]; !ok {
		model["ad_network"] = map[string]any{
			"machine_name": "a_criteo", "name": "Criteo",
			"credentials": map[string]any{"ios_pid": "ios-1", "and_pid": "and-2", "property": "prop 3&4"},
		}
	}
	return json.Marshal(model)
}

func describe(r result) string {
	if r.err != "" {
		return "ERROR " + r.err
	}
	return fmt.Sprintf("%q", r.out)
}

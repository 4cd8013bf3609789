package specdiff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/fixture"
)

// Event is one event both versions render.
type Event struct {
	// Label names the event in the report: a fixture case's
	// partner/name, or FILE and FILE:LINE for NDJSON.
	Label string
	// Partner restricts the event to one partner (a fixture case is its
	// partner's); "" renders it through every partner.
	Partner string
	// JSON is the Branch event.
	JSON []byte
	// Account is the account to render with; nil means the one
	// Options gives.
	Account *account.Account
}

// MaxEventsBytes bounds one events file; a recorded sample is NDJSON of
// a few thousand events at most.
const MaxEventsBytes = 64 << 20

// FixtureEvents returns the events of the fixture cases in dirs, each
// with its case's account, and the default account of each fixture file
// by partner id. A partner's fixture is taken from the first dir that
// has one, so the new version's cases win over the old one's.
func FixtureEvents(dirs ...string) ([]Event, map[string]*account.Account, error) {
	var evs []Event
	accounts := map[string]*account.Account{}
	seen := map[string]bool{}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("reading fixtures: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), fixture.Suffix) {
				continue
			}
			f, err := fixture.Load(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, nil, err
			}
			if seen[f.Partner] {
				continue
			}
			seen[f.Partner] = true
			if f.Account != nil {
				accounts[f.Partner] = f.Account
			}
			for _, c := range f.Cases {
				evs = append(evs, Event{Label: f.Partner + "/" + c.Name, Partner: f.Partner, JSON: c.Event, Account: c.Account})
			}
		}
	}
	return evs, accounts, nil
}

// FileEvents reads events from a file or from every *.json and *.ndjson
// file under a directory, in name order. A .json file is one event; each
// non-blank line of a .ndjson file is one (a recorded sample is NDJSON).
func FileEvents(path string) ([]Event, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	if !fi.IsDir() {
		return readEventFile(path)
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".ndjson")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no event file (*.json, *.ndjson) in this directory", path)
	}
	var evs []Event
	for _, f := range files {
		got, err := readEventFile(f)
		if err != nil {
			return nil, err
		}
		evs = append(evs, got...)
	}
	return evs, nil
}

func readEventFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(f, MaxEventsBytes+1)); err != nil {
		return nil, fmt.Errorf("reading events: %s: %w", path, err)
	}
	if b.Len() > MaxEventsBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxEventsBytes)
	}
	if !strings.HasSuffix(path, ".ndjson") {
		return []Event{{Label: path, JSON: b.Bytes()}}, nil
	}
	var evs []Event
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, MaxEventsBytes)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		evs = append(evs, Event{Label: fmt.Sprintf("%s:%d", path, n), JSON: bytes.Clone(line)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading events: %s: %w", path, err)
	}
	if len(evs) == 0 {
		return nil, errors.New(path + ": no event in this file")
	}
	return evs, nil
}

package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
)

// The JUnit XML report of adgate test --junit: one testsuite per fixture
// file, one testcase per case run.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	File     string      `xml:"file,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// junitReport turns fixture reports into the JUnit document. A fixture
// that did not load is a testsuite with one erroring testcase, named after
// the file, as it has no cases to list.
func junitReport(reports []fixtureReport) junitSuites {
	doc := junitSuites{Name: "adgate test"}
	for _, rep := range reports {
		s := junitSuite{Name: rep.id, File: rep.path}
		if rep.err != "" {
			s.Errors = 1
			s.Cases = []junitCase{{Name: rep.path, Classname: rep.id, File: rep.path,
				Error: &junitProblem{Message: firstLine(rep.err), Text: rep.err}}}
		}
		for _, r := range rep.results {
			c := junitCase{Name: r.Case.Name, Classname: rep.id, File: rep.path, Line: r.Case.Line}
			if !r.Passed() && !rep.updated(r.Case) {
				text := strings.Join(r.Problems, "\n")
				c.Failure = &junitProblem{Message: firstLine(text), Text: text}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Suites = append(doc.Suites, s)
	}
	return doc
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// writeJUnit writes the JUnit report of reports to path.
func writeJUnit(path string, reports []fixtureReport) error {
	b, err := xml.MarshalIndent(junitReport(reports), "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}

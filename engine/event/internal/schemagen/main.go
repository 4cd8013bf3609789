// Command schemagen writes schemas/event.schema.json from Branch's Event
// Ontology CSV. It is run by `go generate ./engine/event`; CI checks the
// committed schema against the CSV (see gen_test.go) instead of regenerating.
//
// The CSV lists flattened field names (user_data_os, last_attributed_touch_data_tilde_campaign,
// content_items[].$sku) with a format column (string, int, double, boolean,
// enum { A, B }, array[T], map[string->string]). The mapping rules are in
// Generate; deliberate departures from the CSV are in overrides, each with
// the evidence that forced it.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("csv", "", "path of Branch's event-ontology.csv")
	out := flag.String("o", "", "output path of the JSON Schema (default stdout)")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "schemagen: -csv is required")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	schema, err := Generate(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if out == "" {
		_, err = os.Stdout.Write(schema)
		return err
	}
	return os.WriteFile(out, schema, 0o644)
}

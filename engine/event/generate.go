package event

// The event schema is generated from Branch's ontology CSV, which lives in
// the shared corpus beside the repository, not in it.
//go:generate go run ./internal/schemagen -csv ../../../shared/corpus/event-ontology.csv -o ../../schemas/event.schema.json

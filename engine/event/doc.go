// Package event decodes Branch Event Ontology events (the JSON body Branch
// webhooks POST), validates them against schemas/event.schema.json and
// builds the template data model a partner's templates read.
package event

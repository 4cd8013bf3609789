// Package conformance holds the differential tests of engine/template
// against Apache FreeMarker 2.3.31 (the fmoracle tool): probe cases, every
// template of every Branch partner doc of the corpus, and generated
// templates and events, run through both engines with the same data
// model. The package has no non-test code beyond this comment.
package conformance

// Package schemas embeds the JSON Schemas and data catalogs kept in this
// folder, so the binary carries the one copy that editors also read.
package schemas

import "embed"

// FS holds every schema and catalog file of this folder.
//
//go:embed *.json *.yaml
var FS embed.FS

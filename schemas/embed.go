// Package schemas embeds the JSON Schemas, data catalogs and the HTTP
// API's OpenAPI document kept in this folder, so the binary carries the one
// copy that editors and API tools also read.
package schemas

import "embed"

// FS holds every schema and catalog file of this folder.
//
//go:embed *.json *.yaml
var FS embed.FS

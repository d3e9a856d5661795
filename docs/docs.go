// Package docs embeds the documents the services serve, such as the
// issuer's OpenAPI description (openapi.yaml), so that they ship in the
// binary and tests can hold them to the code.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of the issuer API, served at
// /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

package docs

import _ "embed"

// VerifierOpenAPI is the OpenAPI 3.1 description of the verifier API
// (POST /v1/verify and the operations endpoints), served by "elicence
// verifier serve" at /v1/openapi.yaml.
//
//go:embed verifier-openapi.yaml
var VerifierOpenAPI []byte

package docs

import (
	"regexp"
	"testing"

	"elicence/identifier"
)

// TestOpenAPIExampleCodes holds the identifiers in openapi.yaml's examples
// to their check characters: every licence identifier (GB/T 36904, MOD
// 37,36) and every 18-character department or issuer code, which is a
// unified social credit code (GB 32100).
func TestOpenAPIExampleCodes(t *testing.T) {
	ids := regexp.MustCompile(`1\.2\.156\.3005\.2\.[0-9A-Z.]+`).FindAllString(string(OpenAPI), -1)
	if len(ids) == 0 {
		t.Fatal("no licence identifier in openapi.yaml")
	}
	for _, id := range ids {
		if _, err := identifier.ParseLicenceID(id); err != nil {
			t.Errorf("openapi.yaml: licence identifier %s: %v", id, err)
		}
	}
	codes := regexp.MustCompile(`"(?:code|department|issuer_code|issuer)": ?"([0-9A-Z]{18})"`).FindAllStringSubmatch(string(OpenAPI), -1)
	if len(codes) == 0 {
		t.Fatal("no department code in openapi.yaml")
	}
	for _, m := range codes {
		if err := identifier.ValidateUSCC(m[1]); err != nil {
			t.Errorf("openapi.yaml: code %s: %v", m[1], err)
		}
	}
}

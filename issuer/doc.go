// Package issuer is the issuing side of elicence: the licence-type
// catalogue, validation of issuance requests, building and signing
// credentials, and the issuer service that stores licences, manages their
// lifecycle and publishes trust and status lists.
package issuer

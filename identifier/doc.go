// Package identifier parses, validates and masks the identifiers an
// electronic licence (电子证照) carries.
//
// Which function to use:
//
//   - [ParseLicenceID] and [LicenceID.String] read and write the GB/T 36904
//     licence identifier (证照标识), for example
//     1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S.
//     The encoding is canonical: String of a parsed identifier returns the
//     exact input text.
//   - [Mod3736Check] computes the ISO/IEC 7064 MOD 37,36 check character that
//     ends a licence identifier.
//   - [ValidateCitizenID] checks a GB 11643 citizen identity number
//     (公民身份号码); [NormalizeCitizenID] tidies user input before that.
//   - [ValidateUSCC] checks a GB 32100 unified social credit code
//     (统一社会信用代码).
//   - [ValidateHolder] and [MaskHolder] apply the right rule for a licence
//     holder's code, given its [HolderKind]. Only the masked form of a
//     citizen identity number may leave the issuer.
//
// Every validation failure is a [*ParseError] naming the part of the input
// at fault, so that an API can report it as a field and a reason. Validation
// is strict: nothing is trimmed, case-folded or otherwise repaired. Callers
// that accept typed-in text normalise it first, explicitly.
//
// The package uses only the standard library and holds no state.
package identifier

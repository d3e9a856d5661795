package issuer

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"elicence/format"
	"elicence/identifier"
)

// FieldRule defines one field of a licence type: its short key in the
// credential, its labels, and the rules a value must meet.
type FieldRule struct {
	// Key is the short key used in the credential and the request, e.g. "lr".
	Key     string `json:"key"`
	Label   string `json:"label"`
	LabelEN string `json:"label_en,omitempty"`
	// Required fields must be present and non-empty.
	Required bool `json:"required,omitempty"`
	// MaxLen is the most characters (not bytes) a value may have.
	MaxLen int `json:"max_len"`
	// Pattern, when set, is a regular expression the whole value must match.
	Pattern string `json:"pattern,omitempty"`
	// Disclose says whether the field travels in the credential and QR code;
	// fields not disclosed are bound only through the record digest.
	Disclose bool `json:"disclose,omitempty"`
}

// LicenceType is an entry of the licence-type catalogue (in the spirit of
// GB/T 36902): what a licence of this type carries and for how long.
type LicenceType struct {
	// Code is the 21-character licence type code: the defining authority's
	// unified social credit code and a three-digit sequence number.
	Code      string `json:"code"`
	Name      string `json:"name"`
	NameEN    string `json:"name_en,omitempty"`
	Authority string `json:"authority"`
	// Holder says whether holders are people (citizen_id) or organisations (uscc).
	Holder HolderKind  `json:"holder_kind"`
	Fields []FieldRule `json:"fields"`
	// ValidityDays is the default validity; 0 means no end date (长期).
	ValidityDays int `json:"validity_days"`
	// Number is the type's catalogue number in the trust list, which
	// compact (format version 2) credentials carry instead of the code:
	// given once, never changed, never reused. Zero: none, and licences of
	// the type are issued as version-1 credentials.
	Number uint32 `json:"number,omitempty"`
}

// HolderKind is the JSON form of identifier.HolderKind: "citizen_id" or "uscc".
type HolderKind string

// Holder kinds.
const (
	HolderCitizen HolderKind = "citizen_id"
	HolderOrg     HolderKind = "uscc"
)

// Identifier returns the identifier package's kind.
func (k HolderKind) Identifier() identifier.HolderKind {
	switch k {
	case HolderCitizen:
		return identifier.HolderCitizenID
	case HolderOrg:
		return identifier.HolderUSCC
	}
	return 0
}

// Validate checks the type definition itself.
func (t *LicenceType) Validate() error {
	if err := (identifier.LicenceID{TypeCode: t.Code, IssuerCode: "X", Serial: "1", Version: 1}).Validate(); err != nil {
		return fmt.Errorf("licence type code %q: %w", t.Code, err)
	}
	if t.Name == "" || t.Authority == "" {
		return fmt.Errorf("licence type %s: name and authority are required", t.Code)
	}
	if t.Holder.Identifier() == 0 {
		return fmt.Errorf("licence type %s: holder kind %q, want citizen_id or uscc", t.Code, t.Holder)
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		if f.Key == "" || len(f.Key) > 16 || seen[f.Key] || f.MaxLen <= 0 {
			return fmt.Errorf("licence type %s: field %q: keys are unique, 1 to 16 bytes, with a positive max_len", t.Code, f.Key)
		}
		if f.Pattern != "" {
			if _, err := regexp.Compile("^(?:" + f.Pattern + ")$"); err != nil {
				return fmt.Errorf("licence type %s: field %s: pattern: %w", t.Code, f.Key, err)
			}
		}
		seen[f.Key] = true
	}
	if t.ValidityDays < 0 {
		return fmt.Errorf("licence type %s: validity_days must not be negative", t.Code)
	}
	return nil
}

// Info returns the type's entry for the trust list's display catalogue.
func (t *LicenceType) Info() format.TypeInfo {
	ti := format.TypeInfo{Code: t.Code, Name: t.Name, Authority: t.Authority, Number: t.Number}
	for _, f := range t.Fields {
		if f.Disclose {
			ti.Fields = append(ti.Fields, format.FieldLabel{Key: f.Key, Label: f.Label})
		}
	}
	return ti
}

// Demo department and authority codes: fictional unified social credit
// codes with valid GB 32100 check characters.
const (
	DemoRootCode        = "11350100MB00000038"
	DemoDepartmentCode  = "11350100MB00000012"
	DemoDepartment2Code = "11350100MB00000025"
	demoSAMRCode        = "11100000MB0000001T"
	demoMPSCode         = "11110000MB00000048"
)

// Demo licence type codes.
const (
	TypeBusinessLicence = demoSAMRCode + "001"
	TypeDrivingLicence  = demoMPSCode + "001"
	TypeFoodPermit      = demoSAMRCode + "002"
)

// DemoTypes returns the demonstration catalogue: a business licence
// (营业执照), a driving licence (机动车驾驶证) and a food business permit
// (食品经营许可证).
func DemoTypes() []LicenceType {
	return []LicenceType{
		{
			Code: TypeBusinessLicence, Name: "营业执照", NameEN: "Business licence", Authority: "国家市场监督管理总局",
			Holder: HolderOrg, ValidityDays: 0, Number: 1,
			Fields: []FieldRule{
				{Key: "lr", Label: "法定代表人", LabelEN: "Legal representative", Required: true, MaxLen: 32, Disclose: true},
				{Key: "ra", Label: "住所", LabelEN: "Registered address", Required: true, MaxLen: 64}, // bound by the record digest, not in the QR: see docs/design
				{Key: "et", Label: "类型", LabelEN: "Enterprise type", MaxLen: 32},
				{Key: "rc", Label: "注册资本", LabelEN: "Registered capital", MaxLen: 32},
				{Key: "bs", Label: "经营范围", LabelEN: "Business scope", MaxLen: 512},
			},
		},
		{
			Code: TypeDrivingLicence, Name: "机动车驾驶证", NameEN: "Driving licence", Authority: "公安部",
			Holder: HolderCitizen, ValidityDays: 6 * 365, Number: 2,
			Fields: []FieldRule{
				{Key: "cc", Label: "准驾车型", LabelEN: "Vehicle class", Required: true, MaxLen: 8, Pattern: `[A-D][1-3]?(,[A-D][1-3]?)*|[CDEFMNP]`, Disclose: true},
				{Key: "fi", Label: "初次领证日期", LabelEN: "First issued", Required: true, MaxLen: 10, Pattern: `\d{4}-\d{2}-\d{2}`, Disclose: true},
				{Key: "ad", Label: "住址", LabelEN: "Address", MaxLen: 64},
			},
		},
		{
			Code: TypeFoodPermit, Name: "食品经营许可证", NameEN: "Food business permit", Authority: "国家市场监督管理总局",
			Holder: HolderOrg, ValidityDays: 5 * 365, Number: 3,
			Fields: []FieldRule{
				{Key: "pn", Label: "许可证编号", LabelEN: "Permit number", Required: true, MaxLen: 16, Pattern: `JY\d{14}`, Disclose: true},
				{Key: "ba", Label: "经营场所", LabelEN: "Premises", Required: true, MaxLen: 64, Disclose: true},
				{Key: "it", Label: "经营项目", LabelEN: "Business items", MaxLen: 128},
			},
		},
	}
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// chinaTime is the zone in which licence dates are written (identifier.ChinaTime).
var chinaTime = identifier.ChinaTime()

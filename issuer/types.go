package issuer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"

	"elicence/issuer/store"
)

// patterns caches compiled field patterns: types are few and immutable, and
// compiling a pattern for every request would dominate bulk validation.
var patterns sync.Map // pattern → *regexp.Regexp

// fieldPattern compiles a field rule's pattern anchored at both ends.
func fieldPattern(p string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil {
		return nil, err
	}
	patterns.Store(p, re)
	return re, nil
}

// fieldDefinitions is the JSON kept in store.LicenceType.FieldDefinitions:
// what the store has no column for.
type fieldDefinitions struct {
	NameEN string      `json:"name_en,omitempty"`
	Holder HolderKind  `json:"holder_kind"`
	Fields []FieldRule `json:"fields"`
	Number uint32      `json:"number,omitempty"`
}

// ToStore returns the store record of t; it validates t first.
func (t *LicenceType) ToStore() (store.LicenceType, error) {
	if err := t.Validate(); err != nil {
		return store.LicenceType{}, err
	}
	defs, err := json.Marshal(fieldDefinitions{NameEN: t.NameEN, Holder: t.Holder, Fields: t.Fields, Number: t.Number})
	if err != nil {
		return store.LicenceType{}, fmt.Errorf("encode field definitions: %w", err)
	}
	return store.LicenceType{
		Code: t.Code, Name: t.Name, Authority: t.Authority,
		FieldDefinitions: defs, DefaultValidityDays: t.ValidityDays,
	}, nil
}

// FromStore returns the licence type held in a store record.
func FromStore(st store.LicenceType) (*LicenceType, error) {
	var defs fieldDefinitions
	if err := json.Unmarshal(st.FieldDefinitions, &defs); err != nil {
		return nil, fmt.Errorf("licence type %s: field definitions: %w", st.Code, err)
	}
	t := &LicenceType{
		Code: st.Code, Name: st.Name, NameEN: defs.NameEN, Authority: st.Authority,
		Holder: defs.Holder, Fields: defs.Fields, ValidityDays: st.DefaultValidityDays, Number: defs.Number,
	}
	if t.Fields == nil {
		t.Fields = []FieldRule{}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

package tlog_test

import (
	"context"
	"encoding/hex"
	"testing"

	"elicence/tlog"
)

// TestVector pins the bytes quoted in docs/design/issuance-log.md ("For
// FORMAT.md"): the leaves of the objects "object 0" … "object 6" (kind
// credential), the root of their tree, the inclusion proof of leaf 3 and
// the checkpoint body. A change here is a format change.
func TestVector(t *testing.T) {
	ctx := context.Background()
	s := tlog.NewMemoryStore()
	var leaves []tlog.Leaf
	var data [][]byte
	for i := range 7 {
		l := tlog.NewLeaf(tlog.KindCredential, []byte("object "+string(rune('0'+i))))
		leaves = append(leaves, l)
		data = append(data, l.Marshal())
	}
	if err := s.Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
		_, _, err := tlog.Append(ctx, tx, testOrigin, leaves)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.LogState(ctx, testOrigin)
	p, err := tlog.NewProofBuilder(7, fetcherOf(s, testOrigin)).InclusionProof(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ph []string
	for _, h := range p {
		ph = append(ph, hex.EncodeToString(h))
	}
	body := string((tlog.Checkpoint{Origin: testOrigin, Size: 7, Hash: st.Root}).Marshal())
	got := map[string]string{
		"leaf 0":      hex.EncodeToString(data[0]),
		"leaf hash 0": hex.EncodeToString(leaves[0].Hash()),
		"root":        hex.EncodeToString(st.Root),
		"proof 3":     ph[0] + " " + ph[1] + " " + ph[2],
		"checkpoint":  body,
	}
	want := map[string]string{
		"leaf 0":      "010116c0a38210240d3b1dc1e11b45eef0163b1a816d7219b84d1b5ce3e7987a66b4",
		"leaf hash 0": "e84c2efdeeece8cba6fe25aca316cc8e9b2ecd4d90357d73034d8f2bd833eba7",
		"root":        "38388da7d6675d27c4fd9b7bb8319c35e7a96c08d1a4cb60bd91a5a661efc6fc",
		"proof 3":     "f372f16b3811b5c506f92428222d3c30f40813710c1eec8847666f0426def234 fcb9e7ad21c78ed2cbe99daab4cfa47e85954ce1518bf9ef7c5bdf8c4d03d8d8 43c988c6955ff94c41b67b0d17dc479663ee3c05acb5f33811d3ac9baf83a333",
		"checkpoint":  testOrigin + "\n7\n" + "ODiNp9ZnXSfE/Zt7uDGcNeepbAjRpMtgvZGlpmHvxvw=" + "\n",
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], want[k])
		}
	}
	if !equalProofs(p, newRef(data).path(3, 0, 7)) || hex.EncodeToString(refMTH(data)) != got["root"] {
		t.Error("vector disagrees with the RFC 9162 reference")
	}
}

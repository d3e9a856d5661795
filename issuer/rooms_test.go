package issuer_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxMethods is how many methods a type of the issuer may have before it
// is two rooms (docs/design/issuer-rooms.md).
const maxMethods = 20

// methodCounts counts, in the non-test Go files below dir, the methods
// declared on each type (pointer receivers and value receivers alike),
// keyed by the package's directory and the type name ("./Wallet",
// "store/postgres/Store").
func methodCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) == 0 {
				continue
			}
			typ := fd.Recv.List[0].Type
			if st, ok := typ.(*ast.StarExpr); ok {
				typ = st.X
			}
			if ix, ok := typ.(*ast.IndexExpr); ok {
				typ = ix.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				counts[filepath.ToSlash(filepath.Dir(path))+"/"+id.Name]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// tooBigToSplitHere are the types allowed more than maxMethods, each with
// why. None today: the store's backends group their methods by what they
// keep (licenceStore, registryStore, …), as the rooms do.
var tooBigToSplitHere = map[string]string{}

// TestRoomsStaySmall keeps every type below issuer/ (the rooms, the core
// they share, the store's packages and backends) at no more than
// maxMethods methods, but for the types named in tooBigToSplitHere.
func TestRoomsStaySmall(t *testing.T) {
	counts := methodCounts(t, ".")
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return counts[names[i]] > counts[names[j]] })
	largest := ""
	for _, n := range names {
		if why, ok := tooBigToSplitHere[n]; ok {
			t.Logf("%s: %d methods, not counted (%s)", n, counts[n], why)
			continue
		}
		if largest == "" {
			largest = n
		}
		if counts[n] > maxMethods {
			t.Errorf("%s has %d methods, more than %d: split it into rooms", n, counts[n], maxMethods)
		}
	}
	// The count sees what it must: the rooms exist, each with methods.
	for _, room := range []string{"Licences", "Publication", "Wallet", "Admin", "core"} {
		if counts["./"+room] == 0 {
			t.Errorf("no methods counted on %s", room)
		}
	}
	for n := range tooBigToSplitHere {
		if counts[n] == 0 {
			t.Errorf("%s is exempt but has no methods: drop it from tooBigToSplitHere", n)
		}
	}
	t.Logf("largest counted: %s with %d methods", largest, counts[largest])
}

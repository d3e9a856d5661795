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

// methodCounts counts, in the non-test Go files of dir (not below it), the
// methods declared on each type (pointer receivers and value receivers
// alike), keyed by type name.
func methodCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir {
			return filepath.SkipDir
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
				counts[id.Name]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestRoomsStaySmall keeps every type of package issuer (its rooms and
// the core they share) at no more than maxMethods methods. The store's
// backends (issuer/store/postgres and sqlite) implement the one
// store.Store interface and are not rooms; they are not counted here.
func TestRoomsStaySmall(t *testing.T) {
	counts := methodCounts(t, ".")
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return counts[names[i]] > counts[names[j]] })
	for _, n := range names {
		if counts[n] > maxMethods {
			t.Errorf("%s has %d methods, more than %d: split it into rooms", n, counts[n], maxMethods)
		}
	}
	// The count sees what it must: the rooms exist, each with methods.
	for _, room := range []string{"Licences", "Publication", "Wallet", "Admin", "core"} {
		if counts[room] == 0 {
			t.Errorf("no methods counted on %s", room)
		}
	}
	if len(names) > 0 {
		t.Logf("largest: %s with %d methods", names[0], counts[names[0]])
	}
}

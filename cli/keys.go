package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"elicence/issuer"
	"elicence/keys"
)

// Demo names used when keys init is not told otherwise.
const (
	DemoRootName       = "示例省数据管理局"
	DemoDepartmentName = "示例市市场监督管理局"
)

func keysInitCommand() Command {
	return Command{
		Name:    "keys init",
		Summary: "create a root key and one department key with their certificates",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("dir", "", "key `directory` to create")
			rootCode := fs.String("root-code", issuer.DemoRootCode, "trust-list operator code")
			rootName := fs.String("root-name", DemoRootName, "trust-list operator name")
			deptCode := fs.String("dept-code", issuer.DemoDepartmentCode, "department code (unified social credit code)")
			deptName := fs.String("dept-name", DemoDepartmentName, "department name")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				if err := requireFlag("dir", *dir, "the directory to create, e.g. --dir keys"); err != nil {
					return err
				}
				if err := checkCode("root-code", *rootCode); err != nil {
					return err
				}
				if err := checkCode("dept-code", *deptCode); err != nil {
					return err
				}
				pass, err := passphrase()
				if err != nil {
					return err
				}
				root := keys.Subject{Code: *rootCode, Name: *rootName}
				dept := keys.Subject{Code: *deptCode, Name: *deptName}
				if err := keys.InitDir(*dir, pass, root, dept, env.Now()); err != nil {
					return err
				}
				rootCert, err := readRootCert(*dir)
				if err != nil {
					return err
				}
				printKeyFiles(env, *dir, keys.RootKeyFile, keys.RootCertFile, keys.RootPubFile)
				fmt.Fprintf(env.Stdout, "root key %s  %s (%s)\n", keys.IDOfDER(rootCert.RawSubjectPublicKeyInfo), *rootName, *rootCode)
				deptCert, err := readDeptCert(*dir, *deptCode)
				if err != nil {
					return err
				}
				printKeyFiles(env, *dir, keys.DeptFile(*deptCode, "key"), keys.DeptFile(*deptCode, "crt"), keys.DeptFile(*deptCode, "pub"))
				fmt.Fprintf(env.Stdout, "department key %s  %s (%s)\n", keys.IDOfDER(deptCert.RawSubjectPublicKeyInfo), *deptName, *deptCode)
				return nil
			}
		},
	}
}

func keysAddDeptCommand() Command {
	return Command{
		Name:    "keys add-dept",
		Summary: "add a department key, certified by the root key",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("dir", "", "key `directory` made by keys init")
			deptCode := fs.String("dept-code", "", "department code (unified social credit code)")
			deptName := fs.String("dept-name", "", "department name")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"dir", *dir}, {"dept-code", *deptCode}, {"dept-name", *deptName}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				if err := checkCode("dept-code", *deptCode); err != nil {
					return err
				}
				pass, err := passphrase()
				if err != nil {
					return err
				}
				p, err := keys.AddDepartment(*dir, pass, keys.Subject{Code: *deptCode, Name: *deptName}, env.Now())
				if err != nil {
					return err
				}
				printKeyFiles(env, *dir, keys.DeptFile(*deptCode, "key"), keys.DeptFile(*deptCode, "crt"), keys.DeptFile(*deptCode, "pub"))
				fmt.Fprintf(env.Stdout, "department key %s  %s (%s)\n", p.ID(), *deptName, *deptCode)
				return nil
			}
		},
	}
}

func printKeyFiles(env *Env, dir, key, cert, pub string) {
	fmt.Fprintf(env.Stdout, "wrote %s (encrypted), %s, %s\n", filepath.Join(dir, key), filepath.Join(dir, cert), filepath.Join(dir, pub))
}

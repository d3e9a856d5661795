// Command elicence issues and verifies electronic licences (电子证照) signed
// with SM2. Run "elicence help" for its subcommands; the package cli holds
// them.
//
// Exit status: 0 success or PASSED, 1 FAILED, 2 INDETERMINATE, 3 usage
// error, 4 any other error.
package main

import (
	"os"

	"elicence/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

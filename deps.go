//go:build tools

// Package main pins the project dependencies until code imports them.
package main

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/emmansun/gmsm/pkcs8"
	_ "github.com/emmansun/gmsm/sm2"
	_ "github.com/emmansun/gmsm/smx509"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/makiuchi-d/gozxing/qrcode"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/skip2/go-qrcode"
	_ "golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite"
)

func main() {}

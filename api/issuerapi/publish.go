package issuerapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/issuer"
)

// publication is the publication room's resource: the trust list, status
// lists, keys, the published registry and the event stream, public and
// (but for the stream) cacheable by any CDN. Its paths lie at the root of
// /v1, so it registers them on the API's router rather than being mounted
// under a prefix of its own.
type publication struct{ *API }

// routes lists the publication endpoints.
func (a publication) routes(r chi.Router) {
	r.Get("/trust-list", a.trustList)
	r.Get("/status/{list}", a.statusList)
	r.Get("/keys/{file}", a.keyFile)
	r.Get("/licence-types", a.licenceTypes)
	r.Get("/departments", a.departments)
	r.Get("/events", a.events)
}

// writePublished serves a signed object with its ETag and caching
// headers, answering 304 when the client has it.
func writePublished(w http.ResponseWriter, r *http.Request, p *issuer.Published) {
	h := w.Header()
	h.Set("ETag", p.ETag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(p.MaxAge/time.Second)))
	h.Set("Last-Modified", p.IssuedAt.UTC().Format(http.TimeFormat))
	if etagMatches(r.Header.Get("If-None-Match"), p.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/cbor")
	h.Set("Content-Length", strconv.Itoa(len(p.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(p.Body)
	}
}

func (a publication) trustList(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.Publication.TrustList(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writePublished(w, r, p)
}

func (a publication) statusList(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.Publication.StatusList(r.Context(), chi.URLParam(r, "list"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writePublished(w, r, p)
}

// keyFile serves root.crt, <keyid>.pem (public key) and <keyid>.crt.
func (a publication) keyFile(w http.ResponseWriter, r *http.Request) {
	file := chi.URLParam(r, "file")
	var body []byte
	var err error
	switch {
	case file == "root.crt":
		body = a.svc.Publication.RootCertificate()
	case strings.HasSuffix(file, ".pem"), strings.HasSuffix(file, ".crt"):
		var pub, cert []byte
		pub, cert, err = a.svc.Publication.PublicKey(r.Context(), file[:len(file)-4])
		body = pub
		if strings.HasSuffix(file, ".crt") {
			body = cert
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if body == nil {
		api.NotFound(w, r)
		return
	}
	ct := "application/x-pem-file"
	if strings.HasSuffix(file, ".crt") {
		ct = "application/x-x509-ca-cert"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body)
}

func (a publication) licenceTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := a.svc.Publication.LicenceTypes(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	api.WriteJSON(w, http.StatusOK, map[string]any{"licence_types": ts})
}

func (a publication) departments(w http.ResponseWriter, r *http.Request) {
	ds, err := a.svc.Publication.Departments(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	api.WriteJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

// events streams status changes as Server-Sent Events. It needs no token:
// every event is public (a status-list entry and the signed list). Streams
// are capped per client address and in all (see Config.MaxStreams); a
// replay is sent a page at a time, and a Last-Event-ID older than the
// replay window gets a "reset" event (refetch your lists) instead.
func (a publication) events(w http.ResponseWriter, r *http.Request) {
	after := int64(-1)
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			a.writeError(w, r, api.Invalid("invalid Last-Event-ID", api.FieldError{Field: "Last-Event-ID", Reason: "want a non-negative integer"}))
			return
		}
		after = n
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		a.writeError(w, r, api.Errorf(api.KindInternal, "streaming unsupported"))
		return
	}
	release, err := a.streams.acquire(clientAddr(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	defer release()
	sub, err := a.svc.Publication.Subscribe(r.Context(), after)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Ask clients to reconnect soon after the stream ends.
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	send := func(ev issuer.Event) error {
		data, _ := json.Marshal(struct {
			Issuer     string `json:"issuer"`
			List       string `json:"list"`
			Index      int    `json:"index"`
			Status     string `json:"status"`
			StatusList string `json:"status_list"`
		}{ev.Issuer, ev.List, ev.Index, ev.Status, base64.StdEncoding.EncodeToString(ev.StatusList)})
		_, err := w.Write([]byte("id: " + strconv.FormatInt(ev.Seq, 10) + "\nevent: status\ndata: " + string(data) + "\n\n"))
		return err
	}
	if sub.Gap {
		// Too far behind to replay: the client refetches its lists, and
		// the stream goes on from the head (the reset's id).
		data, _ := json.Marshal(map[string]string{"reason": "replay-window"})
		if _, err := w.Write([]byte("id: " + strconv.FormatInt(sub.Head, 10) + "\nevent: reset\ndata: " + string(data) + "\n\n")); err != nil {
			return
		}
	}
	sent := 0
	err = sub.Replay(r.Context(), func(ev issuer.Event) error {
		if err := send(ev); err != nil {
			return err
		}
		if sent++; sent%100 == 0 {
			flusher.Flush()
		}
		return nil
	})
	if err != nil {
		// The status line is sent: end the stream; the client reconnects
		// with the last id it received and the replay resumes there.
		api.Logger(r.Context()).Warn("event stream: replay", "err", err)
		return
	}
	flusher.Flush()
	ping := time.NewTicker(a.svc.Publication.EventPingInterval())
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return // service closing, or this client fell behind
			}
			if err := send(ev); err != nil {
				return
			}
			// Send what else is queued before flushing.
			for n := len(sub.C); n > 0; n-- {
				if err := send(<-sub.C); err != nil {
					return
				}
			}
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		}
		flusher.Flush()
	}
}

package cliotest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Webhook statuses as Clio reports them.
const (
	WebhookPending   = "pending"
	WebhookEnabled   = "enabled"
	WebhookSuspended = "suspended"
)

// maxFieldsLength is Clio's limit on a webhook's fields string.
const maxFieldsLength = 1000

var modelEvents = map[string][]string{
	"matter":  {"created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed"},
	"bill":    {"created", "updated", "deleted"},
	"contact": {"created", "updated", "deleted"},
}

type webhook struct {
	ID        int64
	ETag      string
	URL       string
	Model     string
	Events    []string
	Fields    string
	fields    []field
	Secret    string
	Status    string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Webhook is a copy of a webhook subscription for assertions.
type Webhook struct {
	ID        int64
	URL       string
	Model     string
	Events    []string
	Fields    string
	Status    string
	ExpiresAt time.Time
}

// Delivery is one POST the fake made to a webhook URL.
type Delivery struct {
	WebhookID int64
	Event     string
	URL       string
	Body      []byte
	Signature string
	// Status is the receiver's HTTP response status, or 0 when the request failed.
	Status int
	At     time.Time
}

func (s *Server) webhookMap(h *webhook) map[string]any {
	return map[string]any{
		"id":            h.ID,
		"etag":          h.ETag,
		"url":           h.URL,
		"model":         h.Model,
		"events":        h.Events,
		"fields":        h.Fields,
		"shared_secret": h.Secret,
		"status":        h.Status,
		"expires_at":    s.stamp(h.ExpiresAt),
		"created_at":    s.stamp(h.CreatedAt),
		"updated_at":    s.stamp(h.UpdatedAt),
		"user":          map[string]any{"id": int64(344117), "etag": `"` + randomHex(8) + `"`},
	}
}

// webhookInput is the data object of a create or update body.
type webhookInput struct {
	URL       *string   `json:"url"`
	Model     *string   `json:"model"`
	Events    *[]string `json:"events"`
	Fields    *string   `json:"fields"`
	ExpiresAt *string   `json:"expires_at"`
}

func decodeWebhookInput(w http.ResponseWriter, r *http.Request) (webhookInput, bool) {
	var body struct {
		Data webhookInput `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "ArgumentError", "body must be JSON: {\"data\": {...}}")
		return webhookInput{}, false
	}
	return body.Data, true
}

// validate checks the input against Clio's rules and applies it to h.
func (s *Server) applyWebhookInput(w http.ResponseWriter, h *webhook, in webhookInput) bool {
	if in.Model != nil {
		if _, ok := modelEvents[*in.Model]; !ok {
			writeError(w, http.StatusUnprocessableEntity, "ArgumentError", *in.Model+" is not a valid model")
			return false
		}
		h.Model = *in.Model
	}
	if in.URL != nil {
		u, ok := absoluteURL(*in.URL)
		if !ok || (u.Scheme != "https" && !s.opts.AllowHTTPWebhooks) {
			writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "Url is invalid: it must be an https URL")
			return false
		}
		h.URL = *in.URL
	}
	if in.Events != nil {
		for _, e := range *in.Events {
			if !containsString(modelEvents[h.Model], e) {
				writeError(w, http.StatusUnprocessableEntity, "ArgumentError", e+" is not a valid event for "+h.Model)
				return false
			}
		}
		h.Events = append([]string(nil), *in.Events...)
	}
	if in.Fields != nil {
		if len(*in.Fields) > maxFieldsLength {
			writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "fields must be at most 1000 characters")
			return false
		}
		parsed, err := parseFields(*in.Fields)
		if err == nil {
			_, err = project(s.sampleRecord(h.Model), parsed)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "ArgumentError", err.Error())
			return false
		}
		h.Fields, h.fields = *in.Fields, parsed
	}
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "expires_at must be an ISO 8601 timestamp")
			return false
		}
		if t.After(time.Now().Add(31 * 24 * time.Hour)) {
			writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "expires_at must be at most 31 days from now")
			return false
		}
		h.ExpiresAt = t
	}
	return true
}

// sampleRecord is a full record of model, used to check fields names.
func (s *Server) sampleRecord(model string) map[string]any {
	now := time.Now()
	c := &Contact{ID: 1, Name: "Sample", Type: "Person", CreatedAt: now, UpdatedAt: now, Emails: []EmailAddress{{Address: "a@example.com", Primary: true}}}
	m := &Matter{ID: 2, Status: "Open", CreatedAt: now, UpdatedAt: now}
	switch model {
	case "contact":
		return s.contactMap(c)
	case "bill":
		full := s.billMap(&Bill{ID: 3, CreatedAt: now, UpdatedAt: now})
		mm := s.matterMap(m)
		mm["client"] = s.contactMap(c)
		full["matters"] = []map[string]any{mm}
		full["client"] = s.contactMap(c)
		return full
	default:
		full := s.matterMap(m)
		full["client"] = s.contactMap(c)
		return full
	}
}

func containsString(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// createWebhook stores a pending webhook, posts the X-Hook-Secret handshake
// to its URL and only then responds 201, so the handshake always arrives
// before the create call returns.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeWebhookInput(w, r)
	if !ok {
		return
	}
	if in.URL == nil || in.Model == nil || in.Fields == nil {
		writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "url, model and fields are required")
		return
	}

	now := time.Now()
	h := &webhook{ETag: newETag(), Secret: randomHex(20), Status: WebhookPending, ExpiresAt: now.Add(3 * 24 * time.Hour), CreatedAt: now, UpdatedAt: now}
	s.mu.Lock()
	if !s.applyWebhookInput(w, h, webhookInput{Model: in.Model}) || !s.applyWebhookInput(w, h, in) {
		s.mu.Unlock()
		return
	}
	if h.Events == nil {
		h.Events = append([]string(nil), modelEvents[h.Model]...)
	}
	h.ID = s.id()
	s.webhooks[h.ID] = h
	s.mu.Unlock()

	s.handshake(h.ID)

	s.mu.Lock()
	full := s.webhookMap(h)
	s.mu.Unlock()
	s.writeOneStatus(w, r, http.StatusCreated, full)
}

// handshake posts {"data": {"webhook_id": id}} with X-Hook-Secret and
// enables the webhook when the receiver echoes the secret with a 200.
func (s *Server) handshake(id int64) {
	s.mu.Lock()
	h, ok := s.webhooks[id]
	if !ok {
		s.mu.Unlock()
		return
	}
	target, secret := h.URL, h.Secret
	s.mu.Unlock()

	body, _ := json.Marshal(map[string]any{"data": map[string]any{"webhook_id": id}})
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hook-Secret", secret)
	resp, err := s.client.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Hook-Secret") == secret {
		s.mu.Lock()
		if h, ok := s.webhooks[id]; ok && h.Status == WebhookPending {
			h.Status = WebhookEnabled
		}
		s.mu.Unlock()
	}
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var records []listed
	for _, h := range s.webhooks {
		records = append(records, listed{id: h.ID, created: h.CreatedAt, updated: h.UpdatedAt, full: s.webhookMap(h)})
	}
	s.mu.Unlock()
	s.writeList(w, r, records)
}

func (s *Server) showWebhook(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	h, ok := s.webhooks[id]
	var full map[string]any
	if ok {
		full = s.webhookMap(h)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Webhook not found")
		return
	}
	s.writeOne(w, r, full)
}

// updateWebhook applies a PATCH; a changed URL repeats the handshake.
func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	in, ok := decodeWebhookInput(w, r)
	if !ok {
		return
	}

	s.mu.Lock()
	h, found := s.webhooks[id]
	if !found {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "RecordNotFound", "Webhook not found")
		return
	}
	in.Model = nil
	oldURL := h.URL
	if !s.applyWebhookInput(w, h, in) {
		s.mu.Unlock()
		return
	}
	h.ETag, h.UpdatedAt = newETag(), time.Now()
	urlChanged := h.URL != oldURL
	if urlChanged {
		h.Status = WebhookPending
	}
	s.mu.Unlock()

	if urlChanged {
		s.handshake(id)
	}
	s.mu.Lock()
	full := s.webhookMap(h)
	s.mu.Unlock()
	s.writeOne(w, r, full)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	_, ok := s.webhooks[id]
	delete(s.webhooks, id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Webhook not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// activateWebhook is the delayed handshake: the X-Hook-Secret header must
// carry the secret the handshake request sent.
func (s *Server) activateWebhook(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[id]
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Webhook not found")
		return
	}
	if r.Header.Get("X-Hook-Secret") != h.Secret {
		writeError(w, http.StatusUnprocessableEntity, "ArgumentError", "X-Hook-Secret does not match")
		return
	}
	h.Status = WebhookEnabled
	w.WriteHeader(http.StatusNoContent)
}

// outgoing is a delivery prepared under the lock and sent after it.
type outgoing struct {
	webhookID int64
	event     string
	url       string
	body      []byte
	signature string
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// prepare builds the deliveries of one event to every enabled, unexpired
// webhook of model that subscribes to it. full is the record's complete
// form; deleted deliveries carry only id and etag. The caller holds s.mu.
func (s *Server) prepare(model, event string, full map[string]any) []outgoing {
	if s.deliveriesOff {
		return nil
	}
	var out []outgoing
	now := time.Now()
	for _, h := range s.webhooks {
		if h.Model != model || h.Status != WebhookEnabled || !h.ExpiresAt.After(now) || !containsString(h.Events, event) {
			continue
		}
		fields := h.fields
		if event == "deleted" {
			fields = defaultFields
		}
		data, err := project(full, fields)
		if err != nil {
			continue
		}
		body, _ := json.Marshal(map[string]any{"data": data, "meta": map[string]any{"event": event, "webhook_id": h.ID}})
		out = append(out, outgoing{webhookID: h.ID, event: event, url: h.URL, body: body, signature: sign(h.Secret, body)})
	}
	return out
}

// send posts prepared deliveries, synchronously unless AsyncDeliveries is set.
func (s *Server) send(list []outgoing) {
	if len(list) == 0 {
		return
	}
	if !s.opts.AsyncDeliveries {
		for _, o := range list {
			s.post(o)
		}
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, o := range list {
			s.post(o)
		}
	}()
}

// post sends one delivery and logs it. A 410 response suspends the
// webhook, as Clio disables a subscription whose receiver returns 410.
func (s *Server) post(o outgoing) {
	d := Delivery{WebhookID: o.webhookID, Event: o.event, URL: o.url, Body: o.body, Signature: o.signature, At: time.Now()}
	req, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(o.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hook-Signature", o.signature)
		if resp, err := s.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}

	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	if d.Status == http.StatusGone {
		if h, ok := s.webhooks[o.webhookID]; ok {
			h.Status = WebhookSuspended
		}
	}
	s.mu.Unlock()
}

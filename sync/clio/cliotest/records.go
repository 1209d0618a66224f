package cliotest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EmailAddress is one address of a contact.
type EmailAddress struct {
	Address string
	Name    string // Home, Work or Other
	Primary bool
}

// Contact is a Clio person or company.
type Contact struct {
	ID        int64
	ETag      string
	Name      string
	FirstName string
	LastName  string
	// Type is "Person" or "Company".
	Type      string
	Emails    []EmailAddress
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Matter is a Clio matter.
type Matter struct {
	ID            int64
	ETag          string
	Number        int
	DisplayNumber string
	Description   string
	// Status is "Open", "Pending" or "Closed".
	Status      string
	ClientID    int64
	OpenDate    string
	PendingDate string
	CloseDate   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Bill is a Clio bill.
type Bill struct {
	ID     int64
	ETag   string
	Number string
	// State is draft, awaiting_approval, awaiting_payment, paid, void or deleted.
	State     string
	Type      string
	Total     float64
	Paid      float64
	Balance   float64
	PaidAt    time.Time
	IssuedAt  string
	ClientID  int64
	MatterIDs []int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (s *Server) stamp(t time.Time) string { return t.In(s.zone).Format(time.RFC3339) }

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// contactMap is the full JSON form of a contact. The caller holds s.mu.
func (s *Server) contactMap(c *Contact) map[string]any {
	emails := make([]map[string]any, 0, len(c.Emails))
	primary, secondary := "", ""
	for i, e := range c.Emails {
		emails = append(emails, map[string]any{"id": c.ID*100 + int64(i), "etag": c.ETag, "address": e.Address, "name": e.Name, "primary": e.Primary})
		switch {
		case e.Primary && primary == "":
			primary = e.Address
		case secondary == "":
			secondary = e.Address
		}
	}
	return map[string]any{
		"id":                      c.ID,
		"etag":                    c.ETag,
		"name":                    c.Name,
		"first_name":              nullable(c.FirstName),
		"last_name":               nullable(c.LastName),
		"type":                    c.Type,
		"primary_email_address":   nullable(primary),
		"secondary_email_address": nullable(secondary),
		"email_addresses":         emails,
		"created_at":              s.stamp(c.CreatedAt),
		"updated_at":              s.stamp(c.UpdatedAt),
	}
}

// matterMap is the full JSON form of a matter. The caller holds s.mu.
func (s *Server) matterMap(m *Matter) map[string]any {
	var client any
	if c, ok := s.contacts[m.ClientID]; ok {
		client = s.contactMap(c)
	}
	return map[string]any{
		"id":               m.ID,
		"etag":             m.ETag,
		"number":           m.Number,
		"display_number":   m.DisplayNumber,
		"custom_number":    nil,
		"description":      m.Description,
		"status":           m.Status,
		"location":         nil,
		"client_reference": nil,
		"client_id":        m.ClientID,
		"billable":         true,
		"billing_method":   "hourly",
		"open_date":        nullable(m.OpenDate),
		"pending_date":     nullable(m.PendingDate),
		"close_date":       nullable(m.CloseDate),
		"created_at":       s.stamp(m.CreatedAt),
		"updated_at":       s.stamp(m.UpdatedAt),
		"client":           client,
	}
}

// billMap is the full JSON form of a bill. The caller holds s.mu.
func (s *Server) billMap(b *Bill) map[string]any {
	matters := make([]map[string]any, 0, len(b.MatterIDs))
	for _, id := range b.MatterIDs {
		if m, ok := s.matters[id]; ok {
			matters = append(matters, s.matterMap(m))
		}
	}
	var client any
	if c, ok := s.contacts[b.ClientID]; ok {
		client = s.contactMap(c)
	}
	var paidAt any
	if !b.PaidAt.IsZero() {
		paidAt = s.stamp(b.PaidAt)
	}
	return map[string]any{
		"id":         b.ID,
		"etag":       b.ETag,
		"number":     b.Number,
		"state":      b.State,
		"type":       b.Type,
		"kind":       "revenue_kind",
		"total":      b.Total,
		"paid":       b.Paid,
		"balance":    b.Balance,
		"due":        b.Balance,
		"paid_at":    paidAt,
		"issued_at":  nullable(b.IssuedAt),
		"created_at": s.stamp(b.CreatedAt),
		"updated_at": s.stamp(b.UpdatedAt),
		"client":     client,
		"matters":    matters,
	}
}

// listed is one record of a list response with the values the filters read.
type listed struct {
	id      int64
	created time.Time
	updated time.Time
	full    map[string]any
}

// writeList applies updated_since, created_since, order, limit and cursor
// paging, then writes {"data": [...], "meta": {"paging": {"next"}, "records"}}.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, records []listed) {
	q := r.URL.Query()
	fields, ok := requestFields(w, r)
	if !ok {
		return
	}

	for _, name := range []string{"updated_since", "created_since"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ArgumentError", name+" must be an ISO 8601 timestamp")
			return
		}
		filtered := records[:0]
		for _, rec := range records {
			t := rec.updated
			if name == "created_since" {
				t = rec.created
			}
			if t.After(since) {
				filtered = append(filtered, rec)
			}
		}
		records = filtered
	}

	desc := false
	switch q.Get("order") {
	case "", "id(asc)":
	case "id(desc)":
		desc = true
	default:
		writeError(w, http.StatusBadRequest, "ArgumentError", "this fake supports order=id(asc) and id(desc) only")
		return
	}
	sort.Slice(records, func(i, j int) bool {
		if desc {
			return records[i].id > records[j].id
		}
		return records[i].id < records[j].id
	})

	limit := 200
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "ArgumentError", "limit must be between 1 and 200")
			return
		}
		limit = n
	}

	total := len(records)
	if token := q.Get("page_token"); token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		after, perr := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || perr != nil {
			writeError(w, http.StatusBadRequest, "ArgumentError", "invalid page_token")
			return
		}
		filtered := records[:0]
		for _, rec := range records {
			if (!desc && rec.id > after) || (desc && rec.id < after) {
				filtered = append(filtered, rec)
			}
		}
		records = filtered
	}

	page := records
	if len(page) > limit {
		page = page[:limit]
	}
	data := make([]map[string]any, 0, len(page))
	for _, rec := range page {
		p, err := project(rec.full, fields)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ArgumentError", err.Error())
			return
		}
		data = append(data, p)
	}

	paging := map[string]any{}
	if len(records) > limit {
		next := *r.URL
		nq := next.Query()
		nq.Set("page_token", base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(page[len(page)-1].id, 10))))
		next.RawQuery = nq.Encode()
		paging["next"] = s.URL() + next.Path + "?" + next.RawQuery
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"paging": paging, "records": total}})
}

func (s *Server) listMatters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := strings.ToLower(strings.TrimSpace(q.Get("query")))
	statuses := map[string]bool{}
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			statuses[st] = true
		}
	}

	s.mu.Lock()
	var records []listed
	for _, m := range s.matters {
		if len(statuses) > 0 && !statuses[strings.ToLower(m.Status)] {
			continue
		}
		if query != "" && !s.matterMatches(m, query) {
			continue
		}
		records = append(records, listed{id: m.ID, created: m.CreatedAt, updated: m.UpdatedAt, full: s.matterMap(m)})
	}
	s.mu.Unlock()

	s.writeList(w, r, records)
}

// matterMatches is the query filter: number, description or client name.
// The caller holds s.mu.
func (s *Server) matterMatches(m *Matter, query string) bool {
	text := strings.ToLower(m.DisplayNumber + " " + m.Description)
	if c, ok := s.contacts[m.ClientID]; ok {
		text += " " + strings.ToLower(c.Name)
	}
	return strings.Contains(text, query)
}

func (s *Server) listBills(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	matterID, _ := strconv.ParseInt(q.Get("matter_id"), 10, 64)
	state := q.Get("state")

	s.mu.Lock()
	var records []listed
	for _, b := range s.bills {
		if state != "" && b.State != state {
			continue
		}
		if matterID != 0 && !containsID(b.MatterIDs, matterID) {
			continue
		}
		records = append(records, listed{id: b.ID, created: b.CreatedAt, updated: b.UpdatedAt, full: s.billMap(b)})
	}
	s.mu.Unlock()

	s.writeList(w, r, records)
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func (s *Server) showMatter(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	m, ok := s.matters[id]
	var full map[string]any
	if ok {
		full = s.matterMap(m)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Matter not found")
		return
	}
	s.writeOne(w, r, full)
}

func (s *Server) showContact(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	c, ok := s.contacts[id]
	var full map[string]any
	if ok {
		full = s.contactMap(c)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Contact not found")
		return
	}
	s.writeOne(w, r, full)
}

func (s *Server) showBill(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	b, ok := s.bills[id]
	var full map[string]any
	if ok {
		full = s.billMap(b)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Bill not found")
		return
	}
	s.writeOne(w, r, full)
}

// absoluteURL reports whether raw is an absolute http(s) URL.
func absoluteURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, false
	}
	return u, true
}

package cliotest

import (
	"fmt"
	"strings"
	"time"
)

// ContactInput describes a contact for AddContact.
type ContactInput struct {
	Name string
	// Type is "Person" (the default) or "Company".
	Type string
	// Emails are the contact's addresses; the first is primary.
	Emails []string
}

// MatterInput describes a matter for CreateMatter.
type MatterInput struct {
	ClientID    int64
	Description string
	// DisplayNumber defaults to the number and the client's last name, such as "00217-Okafor".
	DisplayNumber string
	// Status defaults to "Open".
	Status string
}

// BillInput describes a bill for CreateBill.
type BillInput struct {
	MatterIDs []int64
	Total     float64
	// Number defaults to a running number.
	Number string
}

// nextUpdate returns a new updated_at for a record last changed at prev.
// Clio timestamps have one-second resolution, so a record changed twice in
// one second still gets a later updated_at than before.
func nextUpdate(prev time.Time) time.Time {
	now := time.Now().Truncate(time.Second)
	if !now.After(prev) {
		now = prev.Add(time.Second)
	}
	return now
}

// AddContact stores a contact; it fires no webhook unless a contact webhook exists.
func (s *Server) AddContact(in ContactInput) Contact {
	s.mu.Lock()
	now := time.Now().Truncate(time.Second)
	c := &Contact{ID: s.id(), ETag: newETag(), Name: in.Name, Type: in.Type, CreatedAt: now, UpdatedAt: now}
	if c.Type == "" {
		c.Type = "Person"
	}
	if c.Type == "Person" {
		parts := strings.Fields(in.Name)
		if len(parts) > 0 {
			c.FirstName, c.LastName = parts[0], parts[len(parts)-1]
		}
	}
	for i, addr := range in.Emails {
		c.Emails = append(c.Emails, EmailAddress{Address: addr, Name: "Work", Primary: i == 0})
	}
	s.contacts[c.ID] = c
	out := s.prepare("contact", "created", s.contactMap(c))
	copied := *c
	s.mu.Unlock()

	s.send(out)
	return copied
}

// CreateMatter stores a matter and fires `created`. It panics when
// in.ClientID is not a contact, which is a mistake in the calling test.
func (s *Server) CreateMatter(in MatterInput) Matter {
	s.mu.Lock()
	client, ok := s.contacts[in.ClientID]
	if !ok {
		s.mu.Unlock()
		panic(fmt.Sprintf("cliotest: CreateMatter: no contact %d; call AddContact first", in.ClientID))
	}
	now := time.Now().Truncate(time.Second)
	m := &Matter{ID: s.id(), ETag: newETag(), Description: in.Description, Status: in.Status, ClientID: in.ClientID, CreatedAt: now, UpdatedAt: now}
	m.Number = len(s.matters) + 1
	m.DisplayNumber = in.DisplayNumber
	if m.DisplayNumber == "" {
		last := client.LastName
		if last == "" {
			last = strings.Fields(client.Name + " x")[0]
		}
		m.DisplayNumber = fmt.Sprintf("%05d-%s", m.Number, last)
	}
	if m.Status == "" {
		m.Status = "Open"
	}
	setStatusDate(m, now)
	s.matters[m.ID] = m
	out := s.prepare("matter", "created", s.matterMap(m))
	copied := *m
	s.mu.Unlock()

	s.send(out)
	return copied
}

func setStatusDate(m *Matter, now time.Time) {
	day := now.Format("2006-01-02")
	switch m.Status {
	case "Open":
		m.OpenDate = day
	case "Pending":
		m.PendingDate = day
	case "Closed":
		m.CloseDate = day
	}
}

// SetMatterStatus changes a matter's status to "Open", "Pending" or
// "Closed" and fires `updated` followed by matter_opened, matter_pended or
// matter_closed.
func (s *Server) SetMatterStatus(id int64, status string) error {
	statusEvents := map[string]string{"Open": "matter_opened", "Pending": "matter_pended", "Closed": "matter_closed"}
	event, ok := statusEvents[status]
	if !ok {
		return fmt.Errorf("cliotest: status %q is not Open, Pending or Closed", status)
	}

	s.mu.Lock()
	m, found := s.matters[id]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("cliotest: no matter %d", id)
	}
	m.Status = status
	m.ETag, m.UpdatedAt = newETag(), nextUpdate(m.UpdatedAt)
	setStatusDate(m, m.UpdatedAt)
	full := s.matterMap(m)
	out := append(s.prepare("matter", "updated", full), s.prepare("matter", event, full)...)
	s.mu.Unlock()

	s.send(out)
	return nil
}

// RenameMatter changes a matter's description and fires `updated`.
func (s *Server) RenameMatter(id int64, description string) error {
	s.mu.Lock()
	m, ok := s.matters[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("cliotest: no matter %d", id)
	}
	m.Description = description
	m.ETag, m.UpdatedAt = newETag(), nextUpdate(m.UpdatedAt)
	out := s.prepare("matter", "updated", s.matterMap(m))
	s.mu.Unlock()

	s.send(out)
	return nil
}

// DeleteMatter removes a matter and fires `deleted` with its id and etag.
func (s *Server) DeleteMatter(id int64) error {
	s.mu.Lock()
	m, ok := s.matters[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("cliotest: no matter %d", id)
	}
	full := s.matterMap(m)
	delete(s.matters, id)
	out := s.prepare("matter", "deleted", full)
	s.mu.Unlock()

	s.send(out)
	return nil
}

// Matter returns a copy of a stored matter.
func (s *Server) Matter(id int64) (Matter, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.matters[id]
	if !ok {
		return Matter{}, false
	}
	return *m, true
}

// CreateBill stores an unpaid bill (state awaiting_payment) for matters of
// one client and fires `created`.
func (s *Server) CreateBill(in BillInput) (Bill, error) {
	s.mu.Lock()
	if len(in.MatterIDs) == 0 {
		s.mu.Unlock()
		return Bill{}, fmt.Errorf("cliotest: a bill needs at least one matter")
	}
	var clientID int64
	for _, id := range in.MatterIDs {
		m, ok := s.matters[id]
		if !ok {
			s.mu.Unlock()
			return Bill{}, fmt.Errorf("cliotest: no matter %d", id)
		}
		clientID = m.ClientID
	}
	now := time.Now().Truncate(time.Second)
	b := &Bill{ID: s.id(), ETag: newETag(), Number: in.Number, State: "awaiting_payment", Type: "MatterBill", Total: in.Total, Balance: in.Total,
		IssuedAt: now.Format("2006-01-02"), ClientID: clientID, MatterIDs: append([]int64(nil), in.MatterIDs...), CreatedAt: now, UpdatedAt: now}
	if b.Number == "" {
		b.Number = fmt.Sprint(len(s.bills) + 1001)
	}
	if len(in.MatterIDs) > 1 {
		b.Type = "ClientBill"
	}
	s.bills[b.ID] = b
	out := s.prepare("bill", "created", s.billMap(b))
	copied := *b
	s.mu.Unlock()

	s.send(out)
	return copied, nil
}

// PayBill records full payment: state paid, paid = total, balance 0,
// paid_at now. It fires bill `updated`, since Clio has no bill-paid event.
func (s *Server) PayBill(id int64) error {
	s.mu.Lock()
	b, ok := s.bills[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("cliotest: no bill %d", id)
	}
	b.State, b.Paid, b.Balance = "paid", b.Total, 0
	b.ETag, b.UpdatedAt = newETag(), nextUpdate(b.UpdatedAt)
	b.PaidAt = b.UpdatedAt
	out := s.prepare("bill", "updated", s.billMap(b))
	s.mu.Unlock()

	s.send(out)
	return nil
}

// SetDeliveries switches webhook deliveries on or off; while off, only
// polling finds changes.
func (s *Server) SetDeliveries(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveriesOff = !on
}

// Webhooks returns copies of every webhook subscription, by id.
func (s *Server) Webhooks() map[int64]Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]Webhook, len(s.webhooks))
	for id, h := range s.webhooks {
		out[id] = Webhook{ID: h.ID, URL: h.URL, Model: h.Model, Events: append([]string(nil), h.Events...), Fields: h.Fields, Status: h.Status, ExpiresAt: h.ExpiresAt}
	}
	return out
}

// ExpireWebhook moves a webhook's expires_at into the past, so it gets no
// more deliveries.
func (s *Server) ExpireWebhook(id int64) error {
	return s.changeWebhook(id, func(h *webhook) { h.ExpiresAt = time.Now().Add(-time.Minute) })
}

// SuspendWebhook sets a webhook's status to suspended, as Clio does after
// repeated failed deliveries.
func (s *Server) SuspendWebhook(id int64) error {
	return s.changeWebhook(id, func(h *webhook) { h.Status = WebhookSuspended })
}

// RemoveWebhook deletes a webhook on the Clio side, so showing it gives 404.
func (s *Server) RemoveWebhook(id int64) error {
	return s.changeWebhook(id, func(h *webhook) { delete(s.webhooks, h.ID) })
}

func (s *Server) changeWebhook(id int64, fn func(h *webhook)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[id]
	if !ok {
		return fmt.Errorf("cliotest: no webhook %d", id)
	}
	fn(h)
	return nil
}

// Deliveries returns every delivery made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Redeliver sends delivery n of Deliveries() again with the same body and
// signature, as Clio does when it retries.
func (s *Server) Redeliver(n int) error {
	s.mu.Lock()
	if n < 0 || n >= len(s.deliveries) {
		s.mu.Unlock()
		return fmt.Errorf("cliotest: no delivery %d (have %d)", n, len(s.deliveries))
	}
	d := s.deliveries[n]
	s.mu.Unlock()

	s.send([]outgoing{{webhookID: d.WebhookID, event: d.Event, url: d.URL, body: d.Body, signature: d.Signature}})
	return nil
}

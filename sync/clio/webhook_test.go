package clio

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
)

func signHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// matterWebhook returns the id and secret of the connection's matter webhook.
func matterWebhook(t *testing.T, conn store.Connection) (string, string) {
	t.Helper()
	for id, wh := range conn.Webhooks {
		if wh.Model == "matter" {
			return id, wh.SharedSecret
		}
	}
	t.Fatal("no matter webhook")
	return "", ""
}

func TestHandshakeEchoesSecret(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()

	tests := []struct {
		name       string
		connection string
		status     int
		echo       string
	}{
		// A webhook id the connection has not stored yet, as when the
		// handshake arrives before the create call returns.
		{"known connection", conn.ID, http.StatusOK, "secret-123"},
		{"unknown connection", "nope", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.conn.HandleWebhook(context.Background(), crm.WebhookRequest{
				ConnectionID: tt.connection,
				Header:       http.Header{"X-Hook-Secret": {"secret-123"}},
				Body:         []byte(`{"data": {"webhook_id": 99999}}`),
			})
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
			if resp.Header["X-Hook-Secret"] != tt.echo {
				t.Errorf("echoed %q, want %q", resp.Header["X-Hook-Secret"], tt.echo)
			}
		})
	}
}

func TestWebhookSignature(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	whID, secret := matterWebhook(t, conn)
	body := []byte(`{"data":{"id":4410021,"etag":"\"e1\"","status":"Open","updated_at":"2026-03-02T09:14:55-05:00"},"meta":{"event":"updated","webhook_id":` + whID + `}}`)
	noID := []byte(`{"data":{"id":4410022,"etag":"\"e2\""},"meta":{"event":"updated"}}`)

	tests := []struct {
		name      string
		body      []byte
		signature string
		status    int
		stored    int
	}{
		{"valid", body, signHex(secret, body), http.StatusOK, 1},
		{"valid without webhook id", noID, signHex(secret, noID), http.StatusOK, 1},
		{"wrong secret", body, signHex("other", body), http.StatusUnauthorized, 0},
		{"body changed", []byte(strings.Replace(string(body), "Open", "Closed", 1)), signHex(secret, body), http.StatusUnauthorized, 0},
		{"missing", body, "", http.StatusUnauthorized, 0},
		{"prefixed", body, "sha256=" + signHex(secret, body), http.StatusUnauthorized, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.pending())
			hdr := http.Header{}
			if tt.signature != "" {
				hdr.Set("X-Hook-Signature", tt.signature)
			}
			resp := h.conn.HandleWebhook(context.Background(), crm.WebhookRequest{ConnectionID: conn.ID, Header: hdr, Body: tt.body, ReceivedAt: time.Now()})
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
			if resp.Status == http.StatusGone {
				t.Error("answered 410, which disables the webhook in Clio")
			}
			if got := len(h.pending()) - before; got != tt.stored {
				t.Errorf("inbox grew by %d, want %d", got, tt.stored)
			}
			if tt.status == http.StatusUnauthorized && !resp.Rejected {
				t.Error("Rejected not set")
			}
		})
	}

	if h.connection(conn.ID).Health.LastWebhookAt.IsZero() {
		t.Error("LastWebhookAt not updated")
	}
}

func TestResolveCaseFiles(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	tok := h.fake.IssueTokens()
	conn := store.Connection{
		UserID: "user-1", Provider: "clio", Region: "us", State: store.ConnectionConnected,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenExpiry: time.Now().Add(time.Hour),
		Webhooks: map[string]store.Webhook{
			"3300117": {ID: "3300117", Model: "matter", Events: []string{"created", "updated", "deleted", "matter_closed"}, SharedSecret: "s1"},
			"3300140": {ID: "3300140", Model: "bill", Events: []string{"updated"}, SharedSecret: "s2"},
		},
	}
	if err := h.store.Update(func(tx *store.Tx) error { return tx.PutConnection(&conn) }); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		file string
		want []crm.Event
	}{
		{"matter-created.json", []crm.Event{{
			Kind: crm.EntityCreated, EntityID: "4410021",
			EntityName:   "00217-Okafor Okafor v. Brightline Logistics - workplace injury claim",
			ClientName:   "Adaeze Okafor",
			ClientEmails: []string{"adaeze.okafor@example.org"},
			Outcome:      crm.OutcomeOpen, StatusLabel: "Open",
			Version: time.Date(2026, 3, 2, 14, 14, 55, 0, time.UTC),
		}}},
		{"matter-closed.json", []crm.Event{{
			Kind: crm.EntityChanged, EntityID: "4410021",
			EntityName:   "00217-Okafor Okafor v. Brightline Logistics - workplace injury claim",
			ClientName:   "Adaeze Okafor",
			ClientEmails: []string{"adaeze.okafor@example.org"},
			Outcome:      crm.OutcomeWon, StatusLabel: "Closed",
			Version: time.Date(2026, 9, 18, 19, 40, 2, 0, time.UTC),
		}}},
		{"bill-paid.json", []crm.Event{{
			Kind: crm.BillPaid, EntityID: "4410021", EntityName: "00217-Okafor",
			ClientName: "Adaeze Okafor",
			BillID:     "7781204", BillNumber: "1043", BillTotal: "2450.00",
			Version: time.Date(2026, 4, 18, 20, 2, 12, 0, time.UTC),
		}}},
		{"handshake-body.json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			item := store.InboxItem{Key: "k-" + tt.file, Provider: "clio", ConnectionID: conn.ID, Source: "webhook", Payload: raw, ReceivedAt: time.Now()}
			got, err := h.conn.Resolve(context.Background(), item)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events = %d, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.ID != item.Key || g.Provider != crm.Clio || g.ConnectionID != conn.ID || g.EntityType != "matter" {
					t.Errorf("identity = %q %q %q %q", g.ID, g.Provider, g.ConnectionID, g.EntityType)
				}
				checkEvent(t, g, w)
			}
		})
	}
}

// checkEvent compares the fields the rules engine reads.
func checkEvent(t *testing.T, got, want crm.Event) {
	t.Helper()
	if got.Kind != want.Kind {
		t.Errorf("kind = %q, want %q", got.Kind, want.Kind)
	}
	if got.EntityID != want.EntityID {
		t.Errorf("entity id = %q, want %q", got.EntityID, want.EntityID)
	}
	if want.EntityName != "" && got.EntityName != want.EntityName {
		t.Errorf("entity name = %q, want %q", got.EntityName, want.EntityName)
	}
	if want.ClientName != "" && got.ClientName != want.ClientName {
		t.Errorf("client name = %q, want %q", got.ClientName, want.ClientName)
	}
	if want.ClientEmails != nil && strings.Join(got.ClientEmails, ",") != strings.Join(want.ClientEmails, ",") {
		t.Errorf("client emails = %v, want %v", got.ClientEmails, want.ClientEmails)
	}
	if got.Outcome != want.Outcome {
		t.Errorf("outcome = %q, want %q", got.Outcome, want.Outcome)
	}
	if want.StatusLabel != "" && got.StatusLabel != want.StatusLabel {
		t.Errorf("status label = %q, want %q", got.StatusLabel, want.StatusLabel)
	}
	if !want.Version.IsZero() && !got.Version.Equal(want.Version) {
		t.Errorf("version = %v, want %v", got.Version, want.Version)
	}
	if got.BillID != want.BillID || got.BillNumber != want.BillNumber || got.BillTotal != want.BillTotal {
		t.Errorf("bill = %q %q %q, want %q %q %q", got.BillID, got.BillNumber, got.BillTotal, want.BillID, want.BillNumber, want.BillTotal)
	}
}

func TestWebhookFlowMapping(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	h.connect()
	client := h.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"adaeze.okafor@example.org", "a.okafor@work.example"}})
	company := h.fake.AddContact(cliotest.ContactInput{Name: "Brightline Logistics", Type: "Company", Emails: []string{"legal@brightline.example"}})

	m := h.fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: "Workplace injury claim"})
	events := h.drain()
	if len(events) != 1 {
		t.Fatalf("created: events = %d, want 1", len(events))
	}
	checkEvent(t, events[0], crm.Event{
		Kind: crm.EntityCreated, EntityID: idString(m.ID), EntityName: m.DisplayNumber + " Workplace injury claim",
		ClientName: "Adaeze Okafor", ClientEmails: []string{"adaeze.okafor@example.org", "a.okafor@work.example"},
		Outcome: crm.OutcomeOpen, StatusLabel: "Open",
	})
	if events[0].CreatedAt.IsZero() || events[0].Version.IsZero() {
		t.Errorf("created_at %v, version %v", events[0].CreatedAt, events[0].Version)
	}

	tests := []struct {
		name    string
		change  func() error
		kinds   []crm.Kind
		outcome crm.Outcome
	}{
		{"pending", func() error { return h.fake.SetMatterStatus(m.ID, "Pending") }, []crm.Kind{crm.EntityChanged, crm.EntityChanged}, crm.OutcomeOpen},
		{"closed", func() error { return h.fake.SetMatterStatus(m.ID, "Closed") }, []crm.Kind{crm.EntityChanged, crm.EntityChanged}, crm.OutcomeWon},
		{"renamed", func() error { return h.fake.RenameMatter(m.ID, "Okafor v. Brightline") }, []crm.Kind{crm.EntityChanged}, crm.OutcomeWon},
		{"deleted", func() error { return h.fake.DeleteMatter(m.ID) }, []crm.Kind{crm.EntityDeleted}, crm.OutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.change(); err != nil {
				t.Fatal(err)
			}
			events := h.drain()
			if len(events) != len(tt.kinds) {
				t.Fatalf("events = %d, want %d", len(events), len(tt.kinds))
			}
			for i, ev := range events {
				if ev.Kind != tt.kinds[i] || ev.Outcome != tt.outcome || ev.EntityID != idString(m.ID) {
					t.Errorf("event %d = %s %s %s, want %s %s", i, ev.Kind, ev.Outcome, ev.EntityID, tt.kinds[i], tt.outcome)
				}
			}
		})
	}

	t.Run("bill paid", func(t *testing.T) {
		a := h.fake.CreateMatter(cliotest.MatterInput{ClientID: company.ID, Description: "Contract review"})
		b := h.fake.CreateMatter(cliotest.MatterInput{ClientID: company.ID, Description: "Lease dispute"})
		h.drain()
		created, err := h.fake.CreateBill(cliotest.BillInput{MatterIDs: []int64{a.ID, b.ID}, Total: 1200.5})
		if err != nil {
			t.Fatal(err)
		}
		if events := h.drain(); len(events) != 0 {
			t.Errorf("unpaid bill gave %d events, want 0", len(events))
		}
		if err := h.fake.PayBill(created.ID); err != nil {
			t.Fatal(err)
		}
		events := h.drain()
		if len(events) != 2 {
			t.Fatalf("paid bill events = %d, want one per matter (2)", len(events))
		}
		for i, want := range []int64{a.ID, b.ID} {
			checkEvent(t, events[i], crm.Event{Kind: crm.BillPaid, EntityID: idString(want), BillID: idString(created.ID), BillNumber: created.Number, BillTotal: "1200.50"})
		}
	})
}

func TestDuplicateDeliveryStoredOnce(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	h.connect()
	c := h.fake.AddContact(cliotest.ContactInput{Name: "Lee Park", Emails: []string{"lee@example.net"}})
	h.fake.CreateMatter(cliotest.MatterInput{ClientID: c.ID, Description: "Estate plan"})

	if n := len(h.pending()); n != 1 {
		t.Fatalf("inbox after delivery = %d, want 1", n)
	}
	if err := h.fake.Redeliver(0); err != nil {
		t.Fatal(err)
	}
	deliveries := h.fake.Deliveries()
	if len(deliveries) != 2 || deliveries[1].Status != http.StatusOK {
		t.Fatalf("redelivery = %+v, want a second delivery answered 200", deliveries)
	}
	if n := len(h.pending()); n != 1 {
		t.Errorf("inbox after redelivery = %d, want 1", n)
	}
}

func TestMaintainRenewsAndRecreates(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	ctx := context.Background()

	ids := func() map[string]string {
		out := map[string]string{}
		for id, wh := range h.connection(conn.ID).Webhooks {
			out[wh.Model] = id
		}
		return out
	}
	first := ids()

	tests := []struct {
		name     string
		breakIt  func(id int64) error
		recreate bool
	}{
		{"healthy", func(int64) error { return nil }, false},
		{"expired", h.fake.ExpireWebhook, true},
		{"suspended", h.fake.SuspendWebhook, true},
		{"gone", h.fake.RemoveWebhook, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ids()
			id := mustInt(t, before["matter"])
			if err := tt.breakIt(id); err != nil {
				t.Fatal(err)
			}
			patches := h.countRequests(http.MethodPatch, "/api/v4/webhooks/")
			if err := h.conn.Maintain(ctx, conn.ID); err != nil {
				t.Fatalf("maintain: %v", err)
			}
			after := ids()
			if recreated := after["matter"] != before["matter"]; recreated != tt.recreate {
				t.Errorf("matter webhook recreated = %v, want %v", recreated, tt.recreate)
			}
			if after["bill"] != before["bill"] {
				t.Error("bill webhook was recreated")
			}
			if got := h.countRequests(http.MethodPatch, "/api/v4/webhooks/") - patches; tt.recreate && got != 1 || !tt.recreate && got != 2 {
				t.Errorf("PATCH requests = %d", got)
			}
			fw := h.fake.Webhooks()[mustInt(t, after["matter"])]
			if fw.Status != cliotest.WebhookEnabled || time.Until(fw.ExpiresAt) < 29*24*time.Hour {
				t.Errorf("matter webhook status %q expires %v", fw.Status, fw.ExpiresAt)
			}
		})
	}
	if len(h.fake.Webhooks()) != 2 {
		t.Errorf("webhooks in Clio = %d, want 2 (old ones deleted)", len(h.fake.Webhooks()))
	}
	_ = first
}

func TestPollOnlyWhenWebhookRejected(t *testing.T) {
	h := newHarnessExact(t, cliotest.Options{AllowHTTPWebhooks: false})
	conn := h.connect()

	if len(conn.Webhooks) != 0 {
		t.Errorf("webhooks = %d, want 0", len(conn.Webhooks))
	}
	if !strings.Contains(conn.PollOnlyReason, "not an https URL") || !strings.Contains(conn.PollOnlyReason, "polling only") {
		t.Errorf("poll-only reason = %q", conn.PollOnlyReason)
	}
	if _, err := h.conn.Poll(context.Background(), conn.ID); err != nil {
		t.Errorf("poll: %v", err)
	}
}

func TestWebhookFieldsUnderLimit(t *testing.T) {
	for _, sub := range subscriptions {
		if len(sub.fields) >= 1000 {
			t.Errorf("%s fields are %d characters; Clio allows fewer than 1000", sub.model, len(sub.fields))
		}
	}
}

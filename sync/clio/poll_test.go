package clio

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
)

func TestPollFindsChangesWithoutWebhooks(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	ctx := context.Background()
	client := h.fake.AddContact(cliotest.ContactInput{Name: "Rosa Diaz", Emails: []string{"rosa@example.org"}})

	h.fake.SetDeliveries(false)
	old := h.fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: "Old matter"})
	h.fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: "Another old matter"})

	first, err := h.conn.Poll(ctx, conn.ID)
	if err != nil {
		t.Fatalf("first poll: %v", err)
	}
	if first.Queued != 2 || first.Missed != 0 || first.Cursor.IsZero() {
		t.Errorf("first poll = %+v, want 2 queued, 0 missed, a cursor", first)
	}
	for _, ev := range h.drain() {
		if ev.Kind != crm.EntityChanged {
			t.Errorf("first poll gave %s for %s; history must not auto-link", ev.Kind, ev.EntityID)
		}
	}

	const created = 205
	for i := 0; i < created; i++ {
		h.fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: fmt.Sprintf("New matter %d", i)})
	}
	if err := h.fake.SetMatterStatus(old.ID, "Closed"); err != nil {
		t.Fatal(err)
	}
	listsBefore := h.countRequests(http.MethodGet, "/api/v4/matters.json")

	second, err := h.conn.Poll(ctx, conn.ID)
	if err != nil {
		t.Fatalf("second poll: %v", err)
	}
	if second.Queued != created+1 || second.Missed != created+1 {
		t.Errorf("second poll = %+v, want %d queued and missed", second, created+1)
	}
	if pages := h.countRequests(http.MethodGet, "/api/v4/matters.json") - listsBefore; pages != 2 {
		t.Errorf("matter list pages = %d, want 2 for %d matters", pages, created+1)
	}

	kinds := map[crm.Kind]int{}
	for _, ev := range h.drain() {
		kinds[ev.Kind]++
		if ev.EntityID == idString(old.ID) && (ev.Kind != crm.EntityChanged || ev.Outcome != crm.OutcomeWon) {
			t.Errorf("closed old matter = %s %s, want entity_changed won", ev.Kind, ev.Outcome)
		}
	}
	if kinds[crm.EntityCreated] != created || kinds[crm.EntityChanged] != 1 {
		t.Errorf("kinds = %v, want %d created and 1 changed", kinds, created)
	}

	third, err := h.conn.Poll(ctx, conn.ID)
	if err != nil {
		t.Fatalf("third poll: %v", err)
	}
	if third.Queued != 0 || third.Missed != 0 {
		t.Errorf("third poll = %+v, want nothing new", third)
	}

	health := h.connection(conn.ID).Health
	if health.MissedByWebhooks != created+1 || health.LastPollAt.IsZero() || health.LastPollError != "" {
		t.Errorf("health = %+v", health)
	}
}

func TestPollSkipsWhatWebhooksDelivered(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	ctx := context.Background()
	client := h.fake.AddContact(cliotest.ContactInput{Name: "Sam Ortiz", Emails: []string{"sam@example.org"}})

	if _, err := h.conn.Poll(ctx, conn.ID); err != nil {
		t.Fatalf("first poll: %v", err)
	}
	m := h.fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: "Delivered matter"})
	c, _ := h.fake.CreateBill(cliotest.BillInput{MatterIDs: []int64{m.ID}, Total: 300})
	if err := h.fake.PayBill(c.ID); err != nil {
		t.Fatal(err)
	}

	res, err := h.conn.Poll(ctx, conn.ID)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.Missed != 0 {
		t.Errorf("missed = %d, want 0: webhooks delivered every change", res.Missed)
	}

	// The webhook and the poll both report the paid bill with the same
	// version, which the rules engine applies once.
	var paid []crm.Event
	for _, ev := range h.drain() {
		if ev.Kind == crm.BillPaid {
			paid = append(paid, ev)
		}
	}
	if len(paid) != 2 || !paid[0].Version.Equal(paid[1].Version) {
		t.Errorf("bill paid events = %+v, want webhook and poll with one version", paid)
	}
}

package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

func TestAutoLinkOutcomes(t *testing.T) {
	cases := []struct {
		name       string
		hubspot    bool
		client     string
		email      string
		entityName string
		wantTitle  string
		wantLinked bool
		wantSugg   bool
	}{
		{"clio email match links silently", false, "Adaeze Okafor", " ADAEZE.okafor@example.org ", "00217-Okafor v. Brightline", "New Clio matter linked to your referral", true, false},
		{"hubspot email match links silently", true, "Adaeze Okafor", "adaeze.okafor@example.org", "Okafor onboarding", "New HubSpot deal linked to your referral", true, false},
		{"clio name match suggests", false, "Okafor, Adaeze", "other@example.net", "Okafor estate", "New Clio matter, possible referral match", false, true},
		{"hubspot name match suggests", true, "Adaeze Okafor", "", "Okafor onboarding", "New HubSpot deal, possible referral match", false, true},
		{"no match does nothing", false, "Quentin Blackwood", "q@example.com", "Blackwood appeal", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
			r := e.referral(e.ada, mary, store.DirectionReceived, "Adaeze Okafor", "adaeze.okafor@example.org", "")

			ev := e.matter(crm.EntityCreated, "101", tc.entityName, tc.client, tc.email, crm.OutcomeOpen, v1)
			if tc.hubspot {
				ev = e.deal(crm.EntityCreated, "101", tc.entityName, tc.client, tc.email, crm.OutcomeOpen, v1)
			}
			e.deliver("", ev)

			got := e.get(e.ada, r.ID)
			if linked := len(got.Links) == 1; linked != tc.wantLinked {
				t.Errorf("linked = %v, want %v (links %+v)", linked, tc.wantLinked, got.Links)
			}
			if sugg := len(got.PendingSuggestions) == 1; sugg != tc.wantSugg {
				t.Errorf("suggested = %v, want %v", sugg, tc.wantSugg)
			}
			ns := e.notifications(e.ada)
			if tc.wantTitle == "" {
				if len(ns) != 0 {
					t.Errorf("notifications = %v, want none", titles(ns))
				}
				return
			}
			if len(ns) != 1 || ns[0].Title != tc.wantTitle {
				t.Fatalf("notifications = %v, want exactly %q", titles(ns), tc.wantTitle)
			}
			if ns[0].ReferralID != r.ID || ns[0].Entity == nil || ns[0].Entity.EntityID != "101" {
				t.Errorf("notification points at %q / %+v, want referral %s and entity 101", ns[0].ReferralID, ns[0].Entity, r.ID)
			}
			if tc.wantLinked && (!strings.Contains(ns[0].Body, tc.entityName) || !strings.Contains(ns[0].Body, "Adaeze Okafor")) {
				t.Errorf("link notification body %q lacks the entity name or client name", ns[0].Body)
			}
			if tc.wantLinked && got.Links[0].LinkedBy != "email" {
				t.Errorf("linked_by = %q, want email", got.Links[0].LinkedBy)
			}
			if tc.wantSugg && got.PendingSuggestions[0].Reason == "" {
				t.Error("suggestion has no reason")
			}
		})
	}
}

func TestSeveralEmailMatchesBecomeSuggestions(t *testing.T) {
	e := newEnv(t)
	mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
	r1 := e.referral(e.ada, mary, store.DirectionReceived, "Sam Reed", "family@example.com", "")
	r2 := e.referral(e.ada, mary, store.DirectionReceived, "Alex Reed", "family@example.com", "")

	e.deliver("", e.matter(crm.EntityCreated, "7", "Reed trust", "Jo Reed", "family@example.com", crm.OutcomeOpen, v1))

	for _, id := range []string{r1.ID, r2.ID} {
		got := e.get(e.ada, id)
		if len(got.Links) != 0 {
			t.Errorf("referral %s linked silently although two referrals share the email", got.ClientName)
		}
		if len(got.PendingSuggestions) != 1 {
			t.Errorf("referral %s has %d suggestions, want 1", got.ClientName, len(got.PendingSuggestions))
		}
	}
	ns := e.notifications(e.ada)
	if len(ns) != 1 || ns[0].Title != "New Clio matter, possible referral match" {
		t.Errorf("notifications = %v, want one suggestion notification", titles(ns))
	}
}

func TestAutoLinkSkipsIneligibleReferrals(t *testing.T) {
	cases := []struct {
		name      string
		direction string
		status    string
	}{
		{"given referral", store.DirectionGiven, store.StatusOpen},
		{"won referral", store.DirectionReceived, store.StatusWon},
		{"lost referral", store.DirectionReceived, store.StatusLost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
			r := e.referral(e.ada, tom, tc.direction, "Adaeze Okafor", "adaeze@example.org", "")
			if tc.status != store.StatusOpen {
				if _, err := e.app.SetStatus(e.ctx, e.ada.ID, r.ID, tc.status); err != nil {
					t.Fatal(err)
				}
			}
			e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))

			if got := e.get(e.ada, r.ID); len(got.Links)+len(got.PendingSuggestions) != 0 {
				t.Errorf("ineligible referral got links %v suggestions %v", got.Links, got.PendingSuggestions)
			}
			if ns := e.notifications(e.ada); len(ns) != 0 {
				t.Errorf("notifications = %v, want none (early exit)", titles(ns))
			}
		})
	}
}

func TestOnlyNewestFiftyCandidates(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	oldest := e.referral(e.ada, tom, store.DirectionReceived, "Old Client", "old@example.org", "")
	for i := 0; i < 50; i++ {
		e.referral(e.ada, tom, store.DirectionReceived, fmt.Sprintf("Client Number%d", i), fmt.Sprintf("c%d@example.org", i), "")
	}
	e.deliver("", e.matter(crm.EntityCreated, "1", "Old matter", "Old Client", "old@example.org", crm.OutcomeOpen, v1))
	if got := e.get(e.ada, oldest.ID); len(got.Links) != 0 {
		t.Error("the 51st newest referral was linked; only the 50 newest are candidates")
	}

	e.deliver("", e.matter(crm.EntityCreated, "2", "New matter", "Client Number49", "c49@example.org", crm.OutcomeOpen, v1))
	if ns := e.notifications(e.ada); len(ns) != 1 {
		t.Errorf("notifications = %v, want one link for the newest referral", titles(ns))
	}
}

func TestChangesOfUnseenEntityNeverAutoLink(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")

	e.deliver("", e.deal(crm.EntityChanged, "55", "Okafor deal", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v1))

	got := e.get(e.ada, r.ID)
	if len(got.Links) != 0 || got.Status != store.StatusOpen {
		t.Errorf("a stage change of an existing deal linked or changed the referral: %+v", got)
	}
	if ns := e.notifications(e.ada); len(ns) != 0 {
		t.Errorf("notifications = %v, want none", titles(ns))
	}
}

func TestLinkedEntityIsNeverMatchedAgain(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r1 := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	r2 := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")

	// A second creation of the same matter (a redelivery under a new key) must not match again.
	e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v2))

	if got := e.get(e.ada, r1.ID); len(got.Links) != 1 {
		t.Errorf("first referral links = %d, want 1", len(got.Links))
	}
	if got := e.get(e.ada, r2.ID); len(got.Links)+len(got.PendingSuggestions) != 0 {
		t.Error("a linked matter was matched again against a newer referral")
	}
}

func TestUnlinkKeepsEntitySeen(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	got := e.get(e.ada, r.ID)
	if len(got.Links) != 1 {
		t.Fatalf("links = %d, want 1", len(got.Links))
	}

	if err := e.app.Unlink(e.ctx, e.ada.ID, r.ID, got.Links[0].ID); err != nil {
		t.Fatal(err)
	}
	e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v2))
	e.deliver("", e.matter(crm.EntityChanged, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v3))

	got = e.get(e.ada, r.ID)
	if len(got.Links)+len(got.PendingSuggestions) != 0 || got.Status != store.StatusOpen {
		t.Errorf("after unlink the matter came back: links %d, suggestions %d, status %s", len(got.Links), len(got.PendingSuggestions), got.Status)
	}
	if !containsText(e.timelineTexts(e.ada, r.ID), "Unlinked Clio matter 'Okafor'") {
		t.Error("timeline lacks the unlink entry")
	}
}

func TestSuggestionConfirmAndReject(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Jonathan Pryce", "jp@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "1", "Pryce custody", "Pryce, Jonathan", "", crm.OutcomeWon, v1))
	e.deliver("", e.matter(crm.EntityCreated, "2", "Pryce estate", "Jonathan Pryce", "", crm.OutcomeOpen, v1))

	got := e.get(e.ada, r.ID)
	if len(got.PendingSuggestions) != 2 {
		t.Fatalf("suggestions = %d, want 2", len(got.PendingSuggestions))
	}
	var custody, estate store.Suggestion
	for _, s := range got.PendingSuggestions {
		if s.EntityID == "1" {
			custody = s
		} else {
			estate = s
		}
	}

	if err := e.app.RejectSuggestion(e.ctx, e.ada.ID, estate.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.ConfirmSuggestion(e.ctx, e.ada.ID, estate.ID); err == nil {
		t.Error("confirming a rejected suggestion succeeded")
	}
	l, err := e.app.ConfirmSuggestion(e.ctx, e.ada.ID, custody.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.LinkedBy != "suggestion" || l.EntityID != "1" {
		t.Errorf("link = %+v, want entity 1 by suggestion", l)
	}
	got = e.get(e.ada, r.ID)
	if got.Status != store.StatusWon {
		t.Errorf("status at link time = %s, want won from the closed matter", got.Status)
	}
	if len(got.PendingSuggestions) != 0 {
		t.Errorf("pending suggestions after confirm/reject = %d, want 0", len(got.PendingSuggestions))
	}

	// The rejected pair is not offered again, even for a fresh creation of the same matter.
	e.deliver("", e.matter(crm.EntityCreated, "2", "Pryce estate", "Jonathan Pryce", "", crm.OutcomeOpen, v2))
	if got := e.get(e.ada, r.ID); len(got.PendingSuggestions) != 0 {
		t.Error("a rejected suggestion was offered again")
	}
	if _, err := e.app.ConfirmSuggestion(e.ctx, e.mary.ID, custody.ID); err == nil {
		t.Error("another user confirmed Ada's suggestion")
	}
}

func TestStatusSyncToRegisteredPartner(t *testing.T) {
	cases := []struct {
		name        string
		hubspot     bool
		outcome     crm.Outcome
		wantStatus  string
		wantText    string
		partnerText string
	}{
		{"clio closed is won", false, crm.OutcomeWon, "won", "Status changed to won (synced from Clio)", "Status changed to won (synced partner update)"},
		{"hubspot closed won is won", true, crm.OutcomeWon, "won", "Status changed to won (synced from HubSpot)", "Status changed to won (synced partner update)"},
		{"hubspot closed lost is lost", true, crm.OutcomeLost, "lost", "Status changed to lost (synced from HubSpot)", "Status changed to lost (synced partner update)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
			if mary.State != store.PartnerRegistered {
				t.Fatalf("partner with a user's email has state %s, want registered", mary.State)
			}
			r := e.referral(e.ada, mary, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
			if r.CounterpartID == "" {
				t.Fatal("no counterpart copy for a registered partner")
			}
			ev := e.matter
			name := "Okafor v. Brightline"
			if tc.hubspot {
				ev = e.deal
			}
			e.deliver("", ev(crm.EntityCreated, "9", name, "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
			e.deliver("", ev(crm.EntityChanged, "9", name, "Adaeze Okafor", "adaeze@example.org", tc.outcome, v2))

			mine := e.get(e.ada, r.ID)
			if mine.Status != tc.wantStatus {
				t.Errorf("my status = %s, want %s", mine.Status, tc.wantStatus)
			}
			entries, _, _ := e.app.Timeline(e.ctx, e.ada.ID, r.ID, store.Page{})
			if entries[0].Text != tc.wantText || entries[0].Context != name || entries[0].At.IsZero() {
				t.Errorf("newest timeline entry = %+v, want %q with context %q", entries[0], tc.wantText, name)
			}

			theirs := e.get(e.mary, r.CounterpartID)
			if theirs.Direction != store.DirectionGiven || theirs.Status != tc.wantStatus {
				t.Errorf("partner copy = %s/%s, want given/%s", theirs.Direction, theirs.Status, tc.wantStatus)
			}
			if got := e.timelineTexts(e.mary, theirs.ID); count(got, tc.partnerText) != 1 {
				t.Errorf("partner timeline = %v, want one %q", got, tc.partnerText)
			}
			wantTitle := "Referral status updated to " + tc.wantStatus
			ns := e.notifications(e.mary)
			if got := titles(ns); count(got, wantTitle) != 1 {
				t.Errorf("partner notifications = %v, want one %q", got, wantTitle)
			}
			if len(ns) > 0 && !strings.Contains(ns[0].Body, "record 'Okafor v. Brightline' moved the referral to "+tc.wantStatus) {
				t.Errorf("partner notification body = %q, want the CRM record named as the cause", ns[0].Body)
			}
		})
	}
}

func TestStatusStopsAtUnregisteredPartner(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	e.deliver("", e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v2))

	if got := e.get(e.ada, r.ID); got.Status != store.StatusWon || got.CounterpartID != "" {
		t.Errorf("status %s counterpart %q, want won and no counterpart", got.Status, got.CounterpartID)
	}
	if ns := e.notifications(e.mary); len(ns) != 0 {
		t.Errorf("an unrelated user got notifications: %v", titles(ns))
	}
}

func TestPendingKeepsReferralOpen(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	pending := e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v2)
	pending.StatusLabel = "Pending"
	e.deliver("", pending)

	if got := e.get(e.ada, r.ID); got.Status != store.StatusOpen {
		t.Errorf("status = %s, want open", got.Status)
	}
	if containsText(e.timelineTexts(e.ada, r.ID), "Status changed") {
		t.Error("a Pending matter wrote a status change")
	}
}

func TestStaleEventNeverRollsBack(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	e.deliver("", e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v3))
	e.deliver("", e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v2))

	if got := e.get(e.ada, r.ID); got.Status != store.StatusWon {
		t.Errorf("status = %s after an older event, want won", got.Status)
	}
	if got := e.timelineTexts(e.ada, r.ID); count(got, "Status changed to won (synced from Clio)") != 1 || containsText(got, "changed to open") {
		t.Errorf("timeline = %v", got)
	}
}

func TestUnchangedCRMStatusKeepsManualStatus(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	if _, err := e.app.SetStatus(e.ctx, e.ada.ID, r.ID, store.StatusLost); err != nil {
		t.Fatal(err)
	}
	e.deliver("", e.matter(crm.EntityChanged, "9", "Okafor renamed", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v2))

	if got := e.get(e.ada, r.ID); got.Status != store.StatusLost {
		t.Errorf("status = %s, want the manual lost to survive an unrelated edit", got.Status)
	}
	if got := e.timelineTexts(e.ada, r.ID); count(got, "Status changed to lost") != 1 {
		t.Errorf("timeline = %v, want one manual entry", got)
	}
}

func TestDuplicateAndReorderedDeliveries(t *testing.T) {
	e := newEnv(t)
	mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
	r := e.referral(e.ada, mary, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")

	closed := e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v2)
	created := e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1)
	// The close arrives first, then the creation, then both again: once as an
	// exact redelivery and once under another key (the poll's).
	e.deliver("wh-close", closed)
	e.deliver("wh-create", created)
	e.deliver("wh-close", closed)
	e.deliver("wh-create", created)
	e.deliver("poll-9-v2", closed)

	got := e.get(e.ada, r.ID)
	if len(got.Links) != 1 || got.Status != store.StatusWon {
		t.Fatalf("links %d status %s, want 1 link and won", len(got.Links), got.Status)
	}
	if tl := e.timelineTexts(e.ada, r.ID); count(tl, "Status changed to won (synced from Clio)") != 1 {
		t.Errorf("timeline = %v, want one sync entry", tl)
	}
	if ns := titles(e.notifications(e.ada)); count(ns, "New Clio matter linked to your referral") != 1 {
		t.Errorf("notifications = %v, want one link notification", ns)
	}
	if ns := titles(e.notifications(e.mary)); count(ns, "Referral status updated to won") != 1 {
		t.Errorf("partner notifications = %v, want one", ns)
	}
}

func TestBillPaidQueuesOneDraft(t *testing.T) {
	e := newEnv(t)
	mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
	r := e.referral(e.ada, mary, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "00217-Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))

	paid := crm.Event{Provider: crm.Clio, ConnectionID: e.clio.ID, Kind: crm.BillPaid, EntityType: "matter", EntityID: "9", BillID: "b-1", BillNumber: "INV-12", Version: v2}
	e.deliver("bill-1", paid)
	e.deliver("bill-1", paid)
	e.deliver("bill-1-again", paid)
	unlinked := paid
	unlinked.EntityID, unlinked.BillID = "404", "b-2"
	e.deliver("", unlinked)

	ds := e.drafts(e.ada)
	if len(ds) != 1 {
		t.Fatalf("drafts = %d, want exactly 1", len(ds))
	}
	d := ds[0]
	if d.To != "mary@example.com" || d.ReferralID != r.ID || d.State != store.DraftOpen {
		t.Errorf("draft = %+v, want an open draft to mary@example.com for the referral", d)
	}
	if !strings.Contains(d.Body, "INV-12") || !strings.Contains(strings.ToLower(d.Body), "paid") || !strings.Contains(strings.ToLower(d.Body), "commission") {
		t.Errorf("draft body does not mention the paid bill and a commission update:\n%s", d.Body)
	}
	if got := titles(e.notifications(e.ada)); count(got, "Bill paid: commission note ready to send") != 1 {
		t.Errorf("notifications = %v", got)
	}

	// Without SMTP the note reaches Mary, a registered partner, inside the
	// app, and stays on her copy of the referral.
	sent, err := e.app.SendDraft(e.ctx, e.ada.ID, d.ID)
	if err != nil || sent.State != store.DraftSent {
		t.Fatalf("send = %+v, %v", sent, err)
	}
	if got := titles(e.notifications(e.mary)); count(got, d.Subject) != 1 {
		t.Errorf("Mary's notifications = %v, want the note", got)
	}
	if tl := e.timelineTexts(e.mary, r.CounterpartID); !containsText(tl, "Note from Ada Lovelace: "+d.Subject) {
		t.Errorf("Mary's timeline = %v, want the note", tl)
	}
}

func TestEntityDeletedKeepsStatus(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v1))
	e.deliver("", e.matter(crm.EntityDeleted, "9", "", "", "", crm.OutcomeUnknown, v2))

	got := e.get(e.ada, r.ID)
	if got.Status != store.StatusWon || len(got.Links) != 1 || !got.Links[0].EntityGone {
		t.Errorf("status %s links %+v, want won with the link marked deleted", got.Status, got.Links)
	}
	if !containsText(e.timelineTexts(e.ada, r.ID), "was deleted in Clio") {
		t.Error("timeline lacks the deletion entry")
	}
}

func TestFailingItemIsRetriedThenParked(t *testing.T) {
	e := newEnv(t)
	err := e.app.Store.Update(func(tx *store.Tx) error {
		_, err := tx.Enqueue(store.InboxItem{Key: "bad", Provider: "clio", ConnectionID: e.clio.ID, Payload: []byte("fail")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		time.Sleep(time.Millisecond)
		e.worker.Drain(e.ctx)
	}
	conn, err := e.app.Connection(e.ctx, e.ada.ID, e.clio.ID)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Health.FailedEvents != 1 || len(conn.FailedItems) != 1 {
		t.Fatalf("failed events = %d, want 1", conn.Health.FailedEvents)
	}
	if it := conn.FailedItems[0]; it.Attempts != 3 || !strings.Contains(it.LastError, "resolver failure") {
		t.Errorf("parked item = %+v, want 3 attempts and the error", it)
	}

	n, err := e.app.RetryFailed(e.ctx, e.ada.ID, e.clio.ID)
	if err != nil || n != 1 {
		t.Errorf("retry requeued %d (%v), want 1", n, err)
	}
}

func TestHalfApplicableItemRollsBack(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	good := e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1)
	bad := e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "", crm.Outcome("closed"), v2)
	e.deliver("mixed", good, bad)

	if got := e.get(e.ada, r.ID); len(got.Links) != 0 {
		t.Error("the first event of a failing item was applied")
	}
	if ns := e.notifications(e.ada); len(ns) != 0 {
		t.Errorf("notifications = %v, want none from a rolled-back item", titles(ns))
	}
}

func TestReferralPairs(t *testing.T) {
	e := newEnv(t)

	// Ada gives a referral to Mary, a registered user: Mary receives a copy.
	mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
	given := e.referral(e.ada, mary, store.DirectionGiven, "Priya Natarajan", "priya@example.com", "")
	received := e.get(e.mary, given.CounterpartID)
	if received.Direction != store.DirectionReceived || received.CounterpartID != given.ID {
		t.Fatalf("counterpart = %+v, want Mary's received copy tied back", received)
	}

	// Ada refers a client to Zoe, who has no account yet; when Zoe signs up the pair is tied.
	zoe := e.partner(e.ada, "Zoe Lefevre", "zoe@example.fr")
	pending := e.referral(e.ada, zoe, store.DirectionGiven, "Marcus Holloway", "mh@example.com", "")
	if pending.CounterpartID != "" {
		t.Fatal("counterpart created for an unregistered partner")
	}
	inv, err := e.app.InvitePartner(e.ctx, e.ada.ID, zoe.ID)
	if err != nil || inv.Partner.State != store.PartnerInvited || !strings.Contains(inv.URL, "/invite/") {
		t.Fatalf("invite = %+v, %v", inv, err)
	}
	if p, err := e.app.MarkProfileUpdated(e.ctx, inv.Partner.InviteToken, "Zoë Lefèvre", "Lefevre Law"); err != nil || p.State != store.PartnerProfileUpdated {
		t.Fatalf("profile update = %+v, %v", p, err)
	}
	zoeUser, err := e.app.RegisterWithInvite(e.ctx, inv.Partner.InviteToken, "Zoë Lefèvre", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	after := e.get(e.ada, pending.ID)
	if after.CounterpartID == "" {
		t.Fatal("signing up did not tie the existing referral")
	}
	if cp := e.get(zoeUser, after.CounterpartID); cp.Direction != store.DirectionReceived {
		t.Errorf("Zoe's copy direction = %s, want received", cp.Direction)
	}
	if p, _ := e.app.Partner(e.ctx, e.ada.ID, zoe.ID); p.State != store.PartnerRegistered {
		t.Errorf("partner state = %s, want registered", p.State)
	}

	// Zoe's matter closes in her Clio: Ada's given copy becomes won.
	zoeClio := e.connection(zoeUser.ID, crm.Clio)
	ev := e.matter(crm.EntityCreated, "77", "Holloway dispute", "Marcus Holloway", "mh@example.com", crm.OutcomeOpen, v1)
	ev.ConnectionID = zoeClio.ID
	e.deliver("", ev)
	ev.Kind, ev.Outcome, ev.Version = crm.EntityChanged, crm.OutcomeWon, v2
	e.deliver("", ev)
	if got := e.get(e.ada, pending.ID); got.Status != store.StatusWon {
		t.Errorf("Ada's given copy = %s, want won from Zoe's Clio", got.Status)
	}
}

func TestAnotherUsersRecordsAreHidden(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	if _, err := e.app.Referral(e.ctx, e.mary.ID, r.ID); err == nil {
		t.Error("Mary read Ada's referral")
	}
	if _, err := e.app.SetStatus(e.ctx, e.mary.ID, r.ID, "won"); err == nil {
		t.Error("Mary changed Ada's referral")
	}
	if _, err := e.app.Partner(e.ctx, e.mary.ID, tom.ID); err == nil {
		t.Error("Mary read Ada's partner")
	}
	if _, err := e.app.Connection(e.ctx, e.mary.ID, e.clio.ID); err == nil {
		t.Error("Mary read Ada's connection")
	}
}

func TestAssistantDigest(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))
	e.clock = e.clock.Add(time.Hour)
	e.deliver("", e.matter(crm.EntityChanged, "9", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeWon, v2))

	ans, err := e.app.Assistant(e.ctx, e.ada.ID, "What changed on my referrals today?", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Items) < 3 || !ans.Items[0].Synced || ans.Items[0].Text != "Status changed to won (synced from Clio)" {
		t.Fatalf("items = %+v, want the synced status change first", ans.Items)
	}
	if !strings.Contains(ans.Answer, "Synced updates") || !strings.Contains(ans.Answer, "Adaeze Okafor") || !strings.Contains(ans.Answer, "Everything else") {
		t.Errorf("answer = %q", ans.Answer)
	}
	if ans.Items[0].ReferralID != r.ID {
		t.Errorf("item referral = %s, want %s", ans.Items[0].ReferralID, r.ID)
	}

	e.clock = e.clock.Add(24 * time.Hour)
	today, _ := e.app.Assistant(e.ctx, e.ada.ID, "what changed on my referrals today", "")
	if len(today.Items) != 0 || !strings.Contains(today.Answer, "Nothing changed") {
		t.Errorf("next day = %+v", today)
	}
	yesterday, _ := e.app.Assistant(e.ctx, e.ada.ID, "and yesterday?", "")
	if len(yesterday.Items) != len(ans.Items) {
		t.Errorf("yesterday items = %d, want %d", len(yesterday.Items), len(ans.Items))
	}
	since, _ := e.app.Assistant(e.ctx, e.ada.ID, "what changed since 2026-12-01", "")
	if len(since.Items) != len(ans.Items) {
		t.Errorf("since items = %d, want %d", len(since.Items), len(ans.Items))
	}
	joke, err := e.app.Assistant(e.ctx, e.ada.ID, "tell me a joke", "")
	if err != nil || !strings.Contains(joke.Answer, "yesterday, this week, or since a date") {
		t.Errorf("unrecognised question answer = %q, %v; want the phrasings it understands", joke.Answer, err)
	}
	if _, err := e.app.Assistant(e.ctx, e.ada.ID, "what changed since 2026-13-45", ""); err == nil {
		t.Error("an impossible date was accepted")
	}
	if _, err := e.app.Assistant(e.ctx, e.ada.ID, "today", "Mars/Olympus"); err == nil {
		t.Error("an unknown time zone was accepted")
	}
}

func TestItemOfRemovedConnectionIsClosed(t *testing.T) {
	e := newEnv(t)
	ev := e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "a@example.org", crm.OutcomeOpen, v1)
	ev.ConnectionID = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
	e.deliver("orphan", ev)

	err := e.app.Store.View(func(tx *store.Tx) error {
		pending, failed := tx.InboxDepth()
		if pending != 0 || failed != 0 {
			t.Errorf("inbox = %d pending, %d failed; want the orphan item closed", pending, failed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSearchFindsPartnerNames(t *testing.T) {
	e := newEnv(t)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	r := e.referral(e.ada, tom, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")

	found, _, err := e.app.ListReferrals(e.ctx, e.ada.ID, store.ReferralFilter{}, "hale", store.Page{})
	if err != nil || len(found) != 1 || found[0].ID != r.ID {
		t.Fatalf("search by partner name = %d results, %v", len(found), err)
	}

	name := "Thomas Brandt"
	if _, err := e.app.UpdatePartner(e.ctx, e.ada.ID, tom.ID, app.PartnerInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if found, _, _ := e.app.ListReferrals(e.ctx, e.ada.ID, store.ReferralFilter{}, "brandt", store.Page{}); len(found) != 1 {
		t.Errorf("search by the new partner name = %d results, want 1", len(found))
	}
	if found, _, _ := e.app.ListReferrals(e.ctx, e.ada.ID, store.ReferralFilter{}, "hale", store.Page{}); len(found) != 0 {
		t.Errorf("search by the old partner name = %d results, want 0", len(found))
	}
}

func TestPartnerSignUpNotifiesInviter(t *testing.T) {
	e := newEnv(t)
	zoe := e.partner(e.ada, "Zoe Lefevre", "zoe@example.fr")
	inv, err := e.app.InvitePartner(e.ctx, e.ada.ID, zoe.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.RegisterWithInvite(e.ctx, inv.Partner.InviteToken, "Zoe Lefevre", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if got := titles(e.notifications(e.ada)); count(got, "Zoe Lefevre joined ReferralPulse") != 1 {
		t.Errorf("inviter notifications = %v", got)
	}
}

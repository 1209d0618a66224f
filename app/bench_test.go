package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// BenchmarkApplyStatusChange measures one inbox item that moves a linked
// matter between open and won: mirror update, status sync, timeline,
// notifications and the registered partner's copy, committed to bbolt.
func BenchmarkApplyStatusChange(b *testing.B) {
	e := newEnv(b)
	mary := e.partner(e.ada, "Mary Osei", "mary@example.com")
	e.referral(e.ada, mary, store.DirectionReceived, "Adaeze Okafor", "adaeze@example.org", "")
	e.deliver("", e.matter(crm.EntityCreated, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", crm.OutcomeOpen, v1))

	version := v1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		version = version.Add(time.Second)
		outcome := crm.OutcomeWon
		if i%2 == 1 {
			outcome = crm.OutcomeOpen
		}
		e.deliver(fmt.Sprintf("bench-%d", i), e.matter(crm.EntityChanged, "1", "Okafor", "Adaeze Okafor", "adaeze@example.org", outcome, version))
	}
}

// BenchmarkApplyCreatedWithMatcher measures one new matter decided against
// 50 open received referrals (no match, the common case), committed.
func BenchmarkApplyCreatedWithMatcher(b *testing.B) {
	e := newEnv(b)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	for i := 0; i < 50; i++ {
		e.referral(e.ada, tom, store.DirectionReceived, fmt.Sprintf("Client Person%d", i), fmt.Sprintf("client%d@example.org", i), fmt.Sprintf("Company %d LLC", i))
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.deliver("", e.matter(crm.EntityCreated, fmt.Sprintf("m%d", i), "Blackwood zoning appeal", "Quentin Blackwood", "q@example.com", crm.OutcomeOpen, v1))
	}
}

// BenchmarkListReferrals100k measures the first page of a user's referral
// list with 100,000 referrals stored, unfiltered and filtered to a status
// that only every hundredth referral has.
func BenchmarkListReferrals100k(b *testing.B) {
	e := newEnv(b)
	tom := e.partner(e.ada, "Tom Hale", "tom@example.org")
	const total = 100_000
	for start := 0; start < total; start += 10_000 {
		err := e.app.Store.Update(func(tx *store.Tx) error {
			for i := start; i < start+10_000; i++ {
				status := store.StatusOpen
				if i%100 == 0 {
					status = store.StatusWon
				}
				r := store.Referral{UserID: e.ada.ID, Direction: store.DirectionReceived, PartnerID: tom.ID,
					ClientName: fmt.Sprintf("Client %d", i), ClientEmail: fmt.Sprintf("c%d@example.org", i), Status: status}
				if err := tx.PutReferral(&r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}

	for _, bc := range []struct {
		name   string
		filter store.ReferralFilter
	}{{"all", store.ReferralFilter{}}, {"won", store.ReferralFilter{Status: store.StatusWon}}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				items, _, err := e.app.ListReferrals(e.ctx, e.ada.ID, bc.filter, "", store.Page{Limit: 50})
				if err != nil || len(items) != 50 {
					b.Fatalf("items = %d, %v", len(items), err)
				}
			}
		})
	}
	b.Run("dashboard", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.app.Dashboard(e.ctx, e.ada.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

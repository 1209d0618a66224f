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

package matcher

import (
	"fmt"
	"path/filepath"
	"testing"
)

var (
	benchIndexFirstNames = []string{
		"Adaeze", "Jonathan", "Zoë", "Marcus", "Alessandra", "Dana", "Emily", "Daniel", "Priya", "Seamus",
		"Chidi", "Ingrid", "Tomás", "Mei", "Olusegun", "Freya", "Rafael", "Anika", "Hugo", "Leilani",
	}
	benchIndexSurnames = []string{
		"Okafor", "Pryce", "Lefèvre", "Holloway", "Rossetti", "Whitfield", "Park", "Lin", "Natarajan", "O'Brien",
		"Blackwood", "Harrow", "Nakamura", "Søndergaard", "Castellanos", "Mbeki", "Kowalski", "Fitzgerald", "Duarte", "Abernathy",
	}
	benchIndexCompanies = []string{"", "Northgate Logistics LLC", "Brightline, Inc.", "", "Café Noël Pty. Ltd.", "Harrow Design GmbH", ""}
)

// benchReferralDocs builds n referrals: four in five belong to user-1 and the
// rest to user-2, so the user filter removes a real share of the matches.
func benchReferralDocs(n int) []ReferralDoc {
	docs := make([]ReferralDoc, n)
	for i := range docs {
		user := "user-1"
		if i%5 == 4 {
			user = "user-2"
		}
		first := benchIndexFirstNames[i%len(benchIndexFirstNames)]
		last := benchIndexSurnames[(i/len(benchIndexFirstNames))%len(benchIndexSurnames)]
		docs[i] = ReferralDoc{
			ID:            fmt.Sprintf("ref-%05d", i),
			UserID:        user,
			ClientName:    first + " " + last,
			ClientEmail:   fmt.Sprintf("client%05d@example.org", i),
			ClientCompany: benchIndexCompanies[i%len(benchIndexCompanies)],
			Note:          fmt.Sprintf("referral %d from the spring networking event", i),
		}
	}
	return docs
}

// BenchmarkSearchReferrals runs one query per iteration over 10,000
// referrals, cycling through an exact word, a typo, a prefix, two words
// with accents folded, and a company name.
func BenchmarkSearchReferrals(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "index")
	ix, _, err := OpenIndex(dir)
	if err != nil {
		b.Fatalf("OpenIndex: %v", err)
	}
	defer ix.Close()
	if err := ix.Batch(benchReferralDocs(10_000), nil); err != nil {
		b.Fatalf("Batch: %v", err)
	}

	queries := []string{"okafor", "okafro", "hollo", "zoe lefevre", "northgate"}
	b.ReportAllocs()
	b.ResetTimer()

	i := 0
	for b.Loop() {
		ids, err := ix.SearchReferrals("user-1", queries[i%len(queries)], 20)
		if err != nil {
			b.Fatalf("SearchReferrals: %v", err)
		}
		if len(ids) == 0 {
			b.Fatalf("SearchReferrals(%q) found nothing", queries[i%len(queries)])
		}
		i++
	}
}

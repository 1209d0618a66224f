package matcher

import (
	"fmt"
	"strings"
	"testing"
)

// benchFirstNames and benchSurnames build 50 realistic candidates, with
// accents, hyphens, middle initials and surname-first forms mixed in.
var (
	benchFirstNames = []string{"Adaeze", "Jonathan", "Zoë", "Marcus T.", "Alessandra", "Dana", "Emily", "Bo", "Priya", "Seamus"}
	benchSurnames   = []string{"Okafor", "Pryce", "Lefèvre", "Holloway", "Rossetti", "Whitfield", "Park", "Lin", "Natarajan", "O'Brien"}
	benchCompanies  = []string{"", "Northgate Logistics LLC", "", "Brightline, Inc.", "", "Café Noël Pty. Ltd.", "", "", "Harrow Design GmbH", ""}
)

func benchCandidates(n int) []Candidate {
	candidates := make([]Candidate, n)
	for i := range candidates {
		first := benchFirstNames[i%len(benchFirstNames)]
		last := benchSurnames[(i/10+i)%len(benchSurnames)]
		name := first + " " + last
		if i%4 == 1 {
			name = last + ", " + first
		}
		if i%9 == 2 {
			name = first + " " + last + "-Smith"
		}
		candidates[i] = Candidate{
			ReferralID:    fmt.Sprintf("ref-%03d", i),
			ClientName:    name,
			ClientEmail:   fmt.Sprintf("client%03d@example.org", i),
			ClientCompany: benchCompanies[i%len(benchCompanies)],
			CreatedAt:     day(1 + i%28),
		}
	}
	return candidates
}

// benchEntity matches a few candidates by name and company but none by
// email, so Decide runs every rule on every candidate.
var benchEntity = Entity{
	EntityType:   "matter",
	Name:         "00217-Northgate Logistics v. Whitfield",
	ClientName:   "Dana Whitfield",
	ClientEmails: []string{"dana@whitfield-home.example", "legal@ngl.example"},
}

func TestBenchCandidates_Realistic(t *testing.T) {
	got := Decide(benchEntity, benchCandidates(50))

	if got.Outcome != OutcomeSuggest {
		t.Fatalf("outcome = %q, want suggest", got.Outcome)
	}
	if len(got.Matches) == 0 || len(got.Matches) > 10 {
		t.Errorf("got %d matches, want between 1 and 10 so the benchmark is realistic", len(got.Matches))
	}
}

func BenchmarkDecide50(b *testing.B) {
	candidates := benchCandidates(50)
	b.ReportAllocs()

	for b.Loop() {
		Decide(benchEntity, candidates)
	}
}

// BenchmarkJaroWinkler50 is the baseline: Jaro-Winkler similarity between
// the entity's lower-cased client name and each of 50 lower-cased candidate
// names, with no other normalization.
func BenchmarkJaroWinkler50(b *testing.B) {
	candidates := benchCandidates(50)
	b.ReportAllocs()

	var sink float64
	for b.Loop() {
		target := strings.ToLower(benchEntity.ClientName)
		for _, c := range candidates {
			sink += jaroWinkler(target, strings.ToLower(c.ClientName))
		}
	}
	_ = sink
}

// jaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1],
// with the usual prefix scale of 0.1 over at most four runes.
func jaroWinkler(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}

	window := max(len(ra), len(rb))/2 - 1
	window = max(window, 0)
	matchedA := make([]bool, len(ra))
	matchedB := make([]bool, len(rb))

	matches := 0
	for i := range ra {
		lo := max(0, i-window)
		hi := min(len(rb), i+window+1)
		for j := lo; j < hi; j++ {
			if !matchedB[j] && ra[i] == rb[j] {
				matchedA[i], matchedB[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}

	transpositions := 0
	j := 0
	for i := range ra {
		if !matchedA[i] {
			continue
		}
		for !matchedB[j] {
			j++
		}
		if ra[i] != rb[j] {
			transpositions++
		}
		j++
	}

	m := float64(matches)
	jaro := (m/float64(len(ra)) + m/float64(len(rb)) + (m-float64(transpositions)/2)/m) / 3

	prefix := 0
	for prefix < 4 && prefix < len(ra) && prefix < len(rb) && ra[prefix] == rb[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

func TestJaroWinkler_KnownValues(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.840},
		{"dixon", "dicksonx", 0.813},
		{"abc", "xyz", 0},
	}

	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			got := jaroWinkler(tt.a, tt.b)
			if diff := got - tt.want; diff > 0.001 || diff < -0.001 {
				t.Errorf("jaroWinkler(%q, %q) = %.3f, want %.3f", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

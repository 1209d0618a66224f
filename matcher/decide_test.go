package matcher

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

// matchingCase is one entry of testdata/matching.json: a referral, a new
// entity and the outcome a user expects.
type matchingCase struct {
	Expect   Outcome `json:"expect"`
	Why      string  `json:"why"`
	Referral struct {
		ClientName    string `json:"client_name"`
		ClientEmail   string `json:"client_email"`
		ClientCompany string `json:"client_company"`
	} `json:"referral"`
	Entity struct {
		ClientName  string `json:"client_name"`
		ClientEmail string `json:"client_email"`
		Name        string `json:"name"`
	} `json:"entity"`
}

// sharedCaseReasons contains the reason each suggesting or linking case in
// testdata/matching.json must give, keyed by the case's "why".
var sharedCaseReasons = map[string]string{
	"email equal after trimming and case folding":                                    "email matches",
	"email equal; the name on the CRM side differs":                                  "email matches",
	"same name, different email":                                                     "client name matches 'Jonathan Pryce'",
	"surname-first order with a comma":                                               "client name matches 'Jonathan Pryce'",
	"accents on one side only":                                                       "client name matches 'Zoë Lefèvre'",
	"middle initial on one side":                                                     "client name matches 'Marcus T. Holloway'",
	"one-letter typo in a long name":                                                 "client name matches 'Alessandra Rossetti'",
	"entity name contains the company (legal suffix ignored) and shares the surname": "matter name contains company 'Northgate Logistics' and shares 'Whitfield'",
}

func TestDecide_SharedCases(t *testing.T) {
	raw, err := os.ReadFile("testdata/matching.json")
	if err != nil {
		t.Fatalf("read cases: %v", err)
	}
	var cases []matchingCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("parse cases: %v", err)
	}
	if len(cases) != 12 {
		t.Fatalf("got %d cases in testdata/matching.json, want 12", len(cases))
	}

	for _, tc := range cases {
		t.Run(tc.Why, func(t *testing.T) {
			entity := Entity{
				EntityType:   "matter",
				Name:         tc.Entity.Name,
				ClientName:   tc.Entity.ClientName,
				ClientEmails: []string{tc.Entity.ClientEmail},
			}
			candidate := Candidate{
				ReferralID:    "ref-1",
				ClientName:    tc.Referral.ClientName,
				ClientEmail:   tc.Referral.ClientEmail,
				ClientCompany: tc.Referral.ClientCompany,
				CreatedAt:     time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
			}

			got := Decide(entity, []Candidate{candidate})

			if got.Outcome != tc.Expect {
				t.Fatalf("outcome = %q, want %q (matches %+v)", got.Outcome, tc.Expect, got.Matches)
			}
			if tc.Expect == OutcomeSkip {
				if len(got.Matches) != 0 {
					t.Errorf("skip returned matches %+v, want none", got.Matches)
				}
				return
			}
			if len(got.Matches) != 1 {
				t.Fatalf("got %d matches, want 1: %+v", len(got.Matches), got.Matches)
			}
			wantReason, ok := sharedCaseReasons[tc.Why]
			if !ok {
				t.Fatalf("no expected reason recorded for case %q", tc.Why)
			}
			if got.Matches[0].Reason != wantReason {
				t.Errorf("reason = %q, want %q", got.Matches[0].Reason, wantReason)
			}
			if got.Matches[0].ReferralID != "ref-1" {
				t.Errorf("referral id = %q, want ref-1", got.Matches[0].ReferralID)
			}
			if got.Matches[0].ByEmail != (tc.Expect == OutcomeLink) {
				t.Errorf("ByEmail = %v for outcome %q", got.Matches[0].ByEmail, tc.Expect)
			}
		})
	}
}

// day returns a fixed time n days into March 2026, for CreatedAt values.
func day(n int) time.Time {
	return time.Date(2026, 3, n, 12, 0, 0, 0, time.UTC)
}

func TestDecide_Rules(t *testing.T) {
	tests := []struct {
		name       string
		entity     Entity
		candidates []Candidate
		want       Decision
	}{
		{
			name:   "several email matches suggest all",
			entity: Entity{EntityType: "deal", Name: "Okafor renewal", ClientEmails: []string{"shared@example.org"}},
			candidates: []Candidate{
				{ReferralID: "old", ClientName: "Adaeze Okafor", ClientEmail: "Shared@example.org", CreatedAt: day(1)},
				{ReferralID: "other", ClientName: "Adaeze Okafor", ClientEmail: "someone@example.org", CreatedAt: day(3)},
				{ReferralID: "new", ClientName: "Chidi Okafor", ClientEmail: " shared@EXAMPLE.org ", CreatedAt: day(2)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "new", Reason: "email matches", Score: scoreEmail, ByEmail: true},
				{ReferralID: "old", Reason: "email matches", Score: scoreEmail, ByEmail: true},
			}},
		},
		{
			name: "secondary client email links",
			entity: Entity{EntityType: "matter", Name: "Natarajan estate", ClientName: "P. Natarajan",
				ClientEmails: []string{"office@natarajan.example", "priya.n@example.com"}},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Priya Natarajan", ClientEmail: "priya.n@example.com", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeLink, Matches: []Match{
				{ReferralID: "r1", Reason: "email matches", Score: scoreEmail, ByEmail: true},
			}},
		},
		{
			name:   "email link wins over a name match",
			entity: Entity{EntityType: "matter", Name: "Pryce custody", ClientName: "Jonathan Pryce", ClientEmails: []string{"jpryce@example.com"}},
			candidates: []Candidate{
				{ReferralID: "by-name", ClientName: "Jonathan Pryce", ClientEmail: "jon@othermail.example", CreatedAt: day(5)},
				{ReferralID: "by-email", ClientName: "J. Pryce", ClientEmail: "JPryce@example.com", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeLink, Matches: []Match{
				{ReferralID: "by-email", Reason: "email matches", Score: scoreEmail, ByEmail: true},
			}},
		},
		{
			name:   "empty emails never match",
			entity: Entity{EntityType: "matter", Name: "Lease", ClientName: "Ana Ruiz", ClientEmails: []string{"", "  "}},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Tomas Berg", ClientEmail: "", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "honorific ignored",
			entity: Entity{EntityType: "matter", Name: "Holloway estate", ClientName: "Dr. Marcus Holloway"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Mr Marcus Holloway Jr.", ClientEmail: "m@example.com", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Mr Marcus Holloway Jr.'", Score: scoreNameEqual},
			}},
		},
		{
			name:   "hyphenated surname equals spaced surname",
			entity: Entity{EntityType: "matter", Name: "Smith-Jones divorce", ClientName: "Smith Jones, Mary"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Mary Smith-Jones", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Mary Smith-Jones'", Score: scoreNameEqual},
			}},
		},
		{
			name:   "apostrophe in surname ignored",
			entity: Entity{EntityType: "matter", Name: "OBrien probate", ClientName: "SEAMUS OBRIEN"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Seamus O’Brien", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Seamus O’Brien'", Score: scoreNameEqual},
			}},
		},
		{
			name:   "decomposed accent equals precomposed",
			entity: Entity{EntityType: "matter", Name: "Lefevre lease", ClientName: "Zoe\u0308 Lefe\u0300vre"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Zoë Lefèvre", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Zoë Lefèvre'", Score: scoreNameEqual},
			}},
		},
		{
			name:   "sharp s folds to ss",
			entity: Entity{EntityType: "matter", Name: "Strauss contract", ClientName: "Johann Strauss"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Johann Strauß", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Johann Strauß'", Score: scoreNameEqual},
			}},
		},
		{
			name:   "transposed letters in long name",
			entity: Entity{EntityType: "matter", Name: "Holloway dispute", ClientName: "Marcus Hollowya"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Marcus Holloway", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "client name matches 'Marcus Holloway'", Score: scoreNameTypo},
			}},
		},
		{
			name:   "typo in five-letter word skipped",
			entity: Entity{EntityType: "matter", Name: "Lopez visa", ClientName: "Maria Lopez"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Mario Lopez", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "two typos skipped",
			entity: Entity{EntityType: "matter", Name: "Rosetti formation", ClientName: "Alesandra Rosetti"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Alessandra Rossetti", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "initial alone does not match first name",
			entity: Entity{EntityType: "matter", Name: "Smith lease", ClientName: "J. Smith"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "John Smith", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "surname alone does not match",
			entity: Entity{EntityType: "matter", Name: "Park tenancy", ClientName: "Park"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Park", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "extra middle name skipped",
			entity: Entity{EntityType: "matter", Name: "Holloway dispute", ClientName: "Marcus Thomas Holloway"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Marcus Holloway", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "company with Inc. in deal name",
			entity: Entity{EntityType: "deal", Name: "Brightline Logistics: Okafor onboarding", ClientName: "Brightline"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Adaeze Okafor", ClientCompany: "Brightline, Inc.", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "deal name contains company 'Brightline' and shares 'Okafor'", Score: scoreCompany},
			}},
		},
		{
			name:   "company with accents and Pty Ltd",
			entity: Entity{EntityType: "matter", Name: "00311-Cafe Noel v. Whitfield", ClientName: "Café Noël"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Dana Whitfield", ClientCompany: "Café Noël Pty. Ltd.", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "matter name contains company 'Café Noël' and shares 'Whitfield'", Score: scoreCompany},
			}},
		},
		{
			name:   "company inside a longer word skipped",
			entity: Entity{EntityType: "matter", Name: "Graceland Okafor lease", ClientName: "Graceland Ltd"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Adaeze Okafor", ClientCompany: "Grace LLC", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "company word not counted as shared name",
			entity: Entity{EntityType: "matter", Name: "Whitfield Logistics renewal", ClientName: "WL Holdings"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Dana Whitfield", ClientCompany: "Whitfield Logistics GmbH", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "company made only of suffixes skipped",
			entity: Entity{EntityType: "matter", Name: "LLC formation for Whitfield", ClientName: "Acme"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Dana Whitfield", ClientCompany: "L.L.C.", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSkip},
		},
		{
			name:   "missing entity type reads entity",
			entity: Entity{Name: "Northgate Logistics - Whitfield", ClientName: "NGL"},
			candidates: []Candidate{
				{ReferralID: "r1", ClientName: "Dana Whitfield", ClientCompany: "Northgate Logistics LLC", CreatedAt: day(1)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "r1", Reason: "entity name contains company 'Northgate Logistics' and shares 'Whitfield'", Score: scoreCompany},
			}},
		},
		{
			name:   "name before company then newest first",
			entity: Entity{EntityType: "matter", Name: "Northgate Logistics - Whitfield dispute", ClientName: "Dana Whitfield"},
			candidates: []Candidate{
				{ReferralID: "company-new", ClientName: "Lee Whitfield", ClientCompany: "Northgate Logistics", CreatedAt: day(9)},
				{ReferralID: "name-old", ClientName: "Dana Whitfield", CreatedAt: day(1)},
				{ReferralID: "name-new", ClientName: "Whitfield, Dana", CreatedAt: day(4)},
				{ReferralID: "unrelated", ClientName: "Evelyn Harrow", CreatedAt: day(8)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "name-new", Reason: "client name matches 'Whitfield, Dana'", Score: scoreNameEqual},
				{ReferralID: "name-old", Reason: "client name matches 'Dana Whitfield'", Score: scoreNameEqual},
				{ReferralID: "company-new", Reason: "matter name contains company 'Northgate Logistics' and shares 'Whitfield'", Score: scoreCompany},
			}},
		},
		{
			name:   "equal time ordered by id",
			entity: Entity{EntityType: "matter", Name: "Pryce custody", ClientName: "Jonathan Pryce"},
			candidates: []Candidate{
				{ReferralID: "b", ClientName: "Jonathan Pryce", CreatedAt: day(2)},
				{ReferralID: "a", ClientName: "Jonathan Pryce", CreatedAt: day(2)},
			},
			want: Decision{Outcome: OutcomeSuggest, Matches: []Match{
				{ReferralID: "a", Reason: "client name matches 'Jonathan Pryce'", Score: scoreNameEqual},
				{ReferralID: "b", Reason: "client name matches 'Jonathan Pryce'", Score: scoreNameEqual},
			}},
		},
		{
			name:       "no candidates skipped",
			entity:     Entity{EntityType: "matter", Name: "Pryce custody", ClientName: "Jonathan Pryce", ClientEmails: []string{"j@example.com"}},
			candidates: nil,
			want:       Decision{Outcome: OutcomeSkip},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.entity, tt.candidates)

			if got.Outcome != tt.want.Outcome {
				t.Fatalf("outcome = %q, want %q (matches %+v)", got.Outcome, tt.want.Outcome, got.Matches)
			}
			if !reflect.DeepEqual(got.Matches, tt.want.Matches) {
				t.Errorf("matches:\n got %+v\nwant %+v", got.Matches, tt.want.Matches)
			}
		})
	}
}

func TestDecide_CandidateOrderIgnored(t *testing.T) {
	entity := Entity{EntityType: "matter", Name: "Pryce custody", ClientName: "Jonathan Pryce"}
	candidates := []Candidate{
		{ReferralID: "r1", ClientName: "Jonathan Pryce", CreatedAt: day(1)},
		{ReferralID: "r2", ClientName: "Pryce, Jonathan", CreatedAt: day(3)},
		{ReferralID: "r3", ClientName: "Jonathon Pryce", CreatedAt: day(2)},
	}
	reversed := []Candidate{candidates[2], candidates[1], candidates[0]}

	forward := Decide(entity, candidates)
	backward := Decide(entity, reversed)

	if !reflect.DeepEqual(forward, backward) {
		t.Errorf("order changed the decision:\n forward %+v\nbackward %+v", forward, backward)
	}
	wantIDs := []string{"r2", "r1", "r3"}
	for i, m := range forward.Matches {
		if i >= len(wantIDs) || m.ReferralID != wantIDs[i] {
			t.Fatalf("match %d = %q, want order %v (got %+v)", i, m.ReferralID, wantIDs, forward.Matches)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"rossetti", "rosetti", true},
		{"rosetti", "rossetti", true},
		{"holloway", "hollowya", true},
		{"holloway", "holloway", true},
		{"natarajan", "natarajen", true},
		{"okafor", "okafo", true},
		{"okafor", "kafor", true},
		{"alessandra", "alesandr", false},
		{"park", "pork", true},
		{"emily", "daniel", false},
		{"abcd", "badc", false},
		{"zoë", "zoe", true},
	}

	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := withinOneEdit(tt.a, tt.b); got != tt.want {
				t.Errorf("withinOneEdit(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestTokenize_Folding(t *testing.T) {
	tests := []struct {
		in   string
		opts tokenizeOptions
		want []string
	}{
		{"Zoë Lefèvre", tokenizeOptions{}, []string{"zoe", "lefevre"}},
		{"ÆSIR Øresund Œuvre", tokenizeOptions{}, []string{"aesir", "oresund", "oeuvre"}},
		{"Pryce, Jonathan", tokenizeOptions{}, []string{"pryce", "jonathan"}},
		{"J.R. Smith", tokenizeOptions{}, []string{"j", "r", "smith"}},
		{"Acme S.A.", tokenizeOptions{dropDots: true}, []string{"acme", "sa"}},
		{"00217-Okafor v. Brightline", tokenizeOptions{dropDots: true}, []string{"00217", "okafor", "v", "brightline"}},
		{"Łukasz Wróbel", tokenizeOptions{}, []string{"lukasz", "wrobel"}},
		{"Ирина Петрова", tokenizeOptions{}, []string{"ирина", "петрова"}},
		{"  ", tokenizeOptions{}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for _, w := range tokenize(tt.in, tt.opts) {
				got = append(got, w.norm)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCompany_StripsSuffixes(t *testing.T) {
	tests := []struct {
		company     string
		wantWritten string
		wantWords   int
	}{
		{"Northgate Logistics LLC", "Northgate Logistics", 2},
		{"Smith & Sons, Inc.", "Smith & Sons", 2},
		{"Acme Co., Ltd.", "Acme", 1},
		{"  Brightline, Inc. ", "Brightline", 1},
		{"Café Noël Pty. Ltd.", "Café Noël", 2},
		{"Banco Sol S.A.", "Banco Sol", 2},
		{"L.L.C.", "", 0},
		{"XY GmbH", "", 0},
		{"", "", 0},
	}

	for _, tt := range tests {
		t.Run(tt.company, func(t *testing.T) {
			got := parseCompany(tt.company)

			if got.written != tt.wantWritten {
				t.Errorf("written = %q, want %q", got.written, tt.wantWritten)
			}
			if len(got.words) != tt.wantWords {
				t.Errorf("got %d words, want %d", len(got.words), tt.wantWords)
			}
		})
	}
}

package matcher

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Candidate is an Open, unlinked, received referral that a new matter or
// deal may belong to.
type Candidate struct {
	ReferralID    string
	ClientName    string
	ClientEmail   string
	ClientCompany string
	CreatedAt     time.Time
}

// Entity is a newly created matter or deal as the CRM describes it.
type Entity struct {
	// EntityType is "matter" or "deal" and appears in reasons
	// ("deal name contains company ...").
	EntityType string
	// Name is the matter or deal name, for example
	// "00217-Okafor Okafor v. Brightline Logistics".
	Name       string
	ClientName string
	// ClientEmails lists the client's addresses, primary first.
	ClientEmails []string
	// ClientCompany is carried for callers. The company rule reads the
	// referral's company and the entity's Name, not this field.
	ClientCompany string
}

// Outcome is the action the caller takes for a new entity.
type Outcome string

const (
	// OutcomeLink links the entity to the single matched referral silently.
	OutcomeLink Outcome = "link"
	// OutcomeSuggest offers the matches for the user to confirm or reject.
	OutcomeSuggest Outcome = "suggest"
	// OutcomeSkip leaves the entity unlinked with no notification.
	OutcomeSkip Outcome = "skip"
)

// Match is one referral the entity may belong to, with the reason shown to
// the user.
type Match struct {
	ReferralID string
	Reason     string
	// Score orders matches: 1 for an email, 0.9 for an equal name, 0.8 for a
	// name one typo apart and 0.6 for a company plus a shared name word.
	Score   float64
	ByEmail bool
}

// Decision is the outcome for one entity with its matches, best first.
// Matches is empty when the outcome is OutcomeSkip.
type Decision struct {
	Outcome Outcome
	Matches []Match
}

// Scores of each rule. An email outranks any name, and a whole name outranks
// a company plus one shared word.
const (
	scoreEmail     = 1.0
	scoreNameEqual = 0.9
	scoreNameTypo  = 0.8
	scoreCompany   = 0.6
)

// scoredMatch keeps the creation time beside a match for the tie-break.
type scoredMatch struct {
	Match
	createdAt time.Time
}

// Decide chooses between linking, suggesting and skipping for a new entity.
//
// One candidate with the entity's email gives OutcomeLink. Several such
// candidates give OutcomeSuggest listing only those, so no link is made
// silently. Without an email match, candidates whose client name matches
// the entity's client name, or whose company appears in the entity name
// together with a word of their client name, give OutcomeSuggest. Matches
// are ordered by score, then newest CreatedAt, then ReferralID.
//
// Decide reads only its arguments and keeps no state between calls, so it is
// safe for concurrent use. The caller bounds len(candidates); the cost grows
// linearly with it.
func Decide(e Entity, candidates []Candidate) Decision {
	emailMatches := matchByEmail(e.ClientEmails, candidates)
	switch len(emailMatches) {
	case 0:
	case 1:
		return Decision{Outcome: OutcomeLink, Matches: emailMatches}
	default:
		return Decision{Outcome: OutcomeSuggest, Matches: emailMatches}
	}

	nameMatches := matchByNameOrCompany(e, candidates)
	if len(nameMatches) == 0 {
		return Decision{Outcome: OutcomeSkip}
	}
	return Decision{Outcome: OutcomeSuggest, Matches: nameMatches}
}

// matchByEmail returns the candidates whose client email equals one of the
// entity's emails after trimming spaces and folding case, best first.
func matchByEmail(entityEmails []string, candidates []Candidate) []Match {
	emails := make([]string, 0, len(entityEmails))
	for _, email := range entityEmails {
		if trimmed := strings.TrimSpace(email); trimmed != "" {
			emails = append(emails, trimmed)
		}
	}
	if len(emails) == 0 {
		return nil
	}

	var found []scoredMatch
	for _, c := range candidates {
		candidateEmail := strings.TrimSpace(c.ClientEmail)
		if candidateEmail == "" {
			continue
		}
		for _, email := range emails {
			if strings.EqualFold(email, candidateEmail) {
				found = append(found, scoredMatch{
					Match:     Match{ReferralID: c.ReferralID, Reason: "email matches", Score: scoreEmail, ByEmail: true},
					createdAt: c.CreatedAt,
				})
				break
			}
		}
	}
	return sortMatches(found)
}

// matchByNameOrCompany applies the name rule and the company rule to every
// candidate and keeps the better of the two for each, best first.
func matchByNameOrCompany(e Entity, candidates []Candidate) []Match {
	entityName := personTokens(e.ClientName)
	entityTitle := tokenize(e.Name, tokenizeOptions{dropDots: true})
	entityType := e.EntityType
	if entityType == "" {
		entityType = "entity"
	}

	var found []scoredMatch
	for _, c := range candidates {
		clientName := personTokens(c.ClientName)

		if m, ok := matchName(entityName, clientName, c); ok {
			found = append(found, scoredMatch{Match: m, createdAt: c.CreatedAt})
			continue
		}
		if m, ok := matchCompany(entityType, entityTitle, clientName, c); ok {
			found = append(found, scoredMatch{Match: m, createdAt: c.CreatedAt})
		}
	}
	return sortMatches(found)
}

func matchName(entityName, clientName []token, c Candidate) (Match, bool) {
	var score float64
	switch compareNames(entityName, clientName) {
	case nameEqual:
		score = scoreNameEqual
	case nameOneTypo:
		score = scoreNameTypo
	default:
		return Match{}, false
	}

	reason := fmt.Sprintf("client name matches '%s'", strings.TrimSpace(c.ClientName))
	return Match{ReferralID: c.ReferralID, Reason: reason, Score: score}, true
}

func matchCompany(entityType string, entityTitle, clientName []token, c Candidate) (Match, bool) {
	if strings.TrimSpace(c.ClientCompany) == "" {
		return Match{}, false
	}

	company := parseCompany(c.ClientCompany)
	start := findWords(entityTitle, company.words)
	if start < 0 {
		return Match{}, false
	}

	shared, ok := sharedNameWord(entityTitle, start, len(company.words), clientName)
	if !ok {
		return Match{}, false
	}

	reason := fmt.Sprintf("%s name contains company '%s' and shares '%s'", entityType, company.written, shared)
	return Match{ReferralID: c.ReferralID, Reason: reason, Score: scoreCompany}, true
}

// sortMatches orders matches by score, then newest first, then by id so the
// order never depends on the caller's candidate order.
func sortMatches(found []scoredMatch) []Match {
	if len(found) == 0 {
		return nil
	}

	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if !a.createdAt.Equal(b.createdAt) {
			return a.createdAt.After(b.createdAt)
		}
		return a.ReferralID < b.ReferralID
	})

	matches := make([]Match, len(found))
	for i, m := range found {
		matches[i] = m.Match
	}
	return matches
}

package app

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
)

// AssistantItem is one change listed in a digest.
type AssistantItem struct {
	At         time.Time `json:"at"`
	ReferralID string    `json:"referral_id"`
	ClientName string    `json:"client_name"`
	Text       string    `json:"text"`
	Source     string    `json:"source"`
	Context    string    `json:"context,omitempty"`
	Synced     bool      `json:"synced"`
}

// AssistantAnswer is the reply to POST /api/v1/assistant.
type AssistantAnswer struct {
	Answer string          `json:"answer"`
	Since  time.Time       `json:"since"`
	Items  []AssistantItem `json:"items"`
}

var sinceDate = regexp.MustCompile(`since\s+(\d{4}-\d{2}-\d{2})`)

// digestWindow reads the period a question names: today (the default),
// yesterday, this week, or since a date (YYYY-MM-DD), in loc.
func digestWindow(question string, now time.Time, loc *time.Location) (from, to time.Time, label string, err error) {
	q := strings.ToLower(question)
	now = now.In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	switch {
	case sinceDate.MatchString(q):
		day := sinceDate.FindStringSubmatch(q)[1]
		from, err = time.ParseInLocation("2006-01-02", day, loc)
		if err != nil {
			return from, to, "", invalid("question", "%q is not a date: write it as YYYY-MM-DD", day)
		}
		return from, now, "since " + day, nil
	case strings.Contains(q, "yesterday"):
		return midnight.AddDate(0, 0, -1), midnight, "yesterday", nil
	case strings.Contains(q, "this week") || strings.Contains(q, "week"):
		offset := (int(midnight.Weekday()) + 6) % 7 // weeks start on Monday
		return midnight.AddDate(0, 0, -offset), now, "this week", nil
	default:
		return midnight, now, "today", nil
	}
}

// Assistant replies to "what changed on my referrals today" and its variants
// from the user's timeline, with no external service.
func (a *App) Assistant(ctx context.Context, userID, question, timezone string) (AssistantAnswer, error) {
	question = strings.TrimSpace(question)
	if question == "" {
		return AssistantAnswer{}, invalid("question", "is required, for example \"what changed on my referrals today\"")
	}
	loc := time.UTC
	if timezone != "" {
		l, err := time.LoadLocation(timezone)
		if err != nil {
			return AssistantAnswer{}, invalid("timezone", "%q is not a time zone name such as Europe/London", timezone)
		}
		loc = l
	}
	from, to, label, err := digestWindow(question, a.now(), loc)
	if err != nil {
		return AssistantAnswer{}, err
	}

	ans := AssistantAnswer{Since: from.UTC(), Items: []AssistantItem{}}
	err = a.Store.View(func(tx *store.Tx) error {
		entries, err := tx.UserTimelineSince(userID, from, 500)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, e := range entries {
			if e.At.After(to) {
				continue
			}
			if _, ok := names[e.ReferralID]; !ok {
				r, _ := tx.Referral(e.ReferralID)
				names[e.ReferralID] = r.ClientName
			}
			ans.Items = append(ans.Items, AssistantItem{
				At: e.At, ReferralID: e.ReferralID, ClientName: names[e.ReferralID], Text: e.Text,
				Source: e.Source, Context: e.Context, Synced: e.Source == "clio" || e.Source == "hubspot" || e.Source == "partner",
			})
		}
		return nil
	})
	if err != nil {
		return ans, err
	}
	// Synced updates first, then everything else, newest first within each group.
	sort.SliceStable(ans.Items, func(i, j int) bool {
		if ans.Items[i].Synced != ans.Items[j].Synced {
			return ans.Items[i].Synced
		}
		return ans.Items[i].At.After(ans.Items[j].At)
	})
	ans.Answer = digestText(label, ans.Items, loc)
	if !understood(question) {
		ans.Answer = "I answer what changed on your referrals today, yesterday, this week, or since a date (YYYY-MM-DD). " +
			"Your question names none of these, so here is today.\n\n" + ans.Answer
	}
	return ans, nil
}

// understood reports whether a question names a period digestWindow reads.
func understood(question string) bool {
	q := strings.ToLower(question)
	return sinceDate.MatchString(q) || strings.Contains(q, "today") || strings.Contains(q, "yesterday") || strings.Contains(q, "week")
}

func digestText(label string, items []AssistantItem, loc *time.Location) string {
	if len(items) == 0 {
		return fmt.Sprintf("Nothing changed on your referrals %s.", label)
	}
	var synced, other []AssistantItem
	for _, it := range items {
		if it.Synced {
			synced = append(synced, it)
		} else {
			other = append(other, it)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on your referrals %s.", countWord(len(items)), plural(len(items), "change", "changes"), label)
	writeGroup := func(title string, group []AssistantItem) {
		if len(group) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n\n%s:", title)
		for _, it := range group {
			line := fmt.Sprintf("\n- %s, %s: %s", it.At.In(loc).Format("Jan 2 15:04"), it.ClientName, it.Text)
			if it.Context != "" && !strings.Contains(it.Text, it.Context) {
				line += " (" + it.Context + ")"
			}
			b.WriteString(line)
		}
	}
	writeGroup("Synced updates", synced)
	writeGroup("Everything else", other)
	return b.String()
}

func countWord(n int) string {
	if n == 1 {
		return "One"
	}
	return fmt.Sprint(n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

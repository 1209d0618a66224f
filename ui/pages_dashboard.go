package ui

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// dashboardBannerCap is how many unread banners the dashboard shows before
// a "Show all" link, so the counts stay near the top on a phone.
const dashboardBannerCap = 5

// dashboardData is the dashboard page: counts, unread banners and the
// week's activity with the client name of each referral.
type dashboardData struct {
	Summary       app.Dashboard
	Notifications []store.Notification
	ClientNames   map[string]string
	// Hidden is the number of unread notifications left out by the cap.
	Hidden    int
	BannerCap int
}

func (p *pages) dashboardPage(c *fiber.Ctx, v *view) error {
	data, err := p.dashboardData(c, v.User.ID)
	if err != nil {
		return err
	}
	limit := dashboardBannerCap
	if c.Query("notifications") == "all" {
		limit = 200
	}
	unread, _, err := p.App.Notifications(c.UserContext(), v.User.ID, true, store.Page{Limit: limit})
	if err != nil {
		return err
	}
	data.Notifications = unread
	data.BannerCap = limit
	if hidden := data.Summary.UnreadNotifications - len(unread); hidden > 0 {
		data.Hidden = hidden
	}
	v.Title, v.Nav, v.Data = "Dashboard", "dashboard", data
	return p.tmpl.render(c, fiber.StatusOK, "dashboard", v)
}

// dashboardData loads the counts and the recent activity.
func (p *pages) dashboardData(c *fiber.Ctx, userID string) (dashboardData, error) {
	d, err := p.App.Dashboard(c.UserContext(), userID)
	if err != nil {
		return dashboardData{}, err
	}
	names, err := p.clientNames(userID, d.Recent)
	if err != nil {
		return dashboardData{}, err
	}
	return dashboardData{Summary: d, ClientNames: names}, nil
}

// dashboardSummary returns the counts, the Action Queue size and the recent
// activity as one fragment. The page script fetches it after each live
// event, so the figures follow the banners without a reload.
func (p *pages) dashboardSummary(c *fiber.Ctx, v *view) error {
	data, err := p.dashboardData(c, v.User.ID)
	if err != nil {
		return err
	}
	v.Data = data
	return p.tmpl.fragment(c, "dashboard", "dashboard_summary", v)
}

// clientNames looks up the client name of each referral the entries belong to.
func (p *pages) clientNames(userID string, entries []store.TimelineEntry) (map[string]string, error) {
	names := map[string]string{}
	err := p.App.Store.View(func(tx *store.Tx) error {
		for _, e := range entries {
			if _, ok := names[e.ReferralID]; ok {
				continue
			}
			r, err := tx.Referral(e.ReferralID)
			if err != nil || r.UserID != userID {
				names[e.ReferralID] = ""
				continue
			}
			names[e.ReferralID] = r.ClientName
		}
		return nil
	})
	return names, err
}

// markRead marks a notification read. htmx removes the banner from the
// returned empty body; a plain form goes back to where it came from.
func (p *pages) markRead(c *fiber.Ctx, v *view) error {
	if _, err := p.App.MarkRead(c.UserContext(), v.User.ID, c.Params("id")); err != nil {
		return err
	}
	if isHTMX(c) {
		return c.SendString("")
	}
	return redirectAfterPost(c, localPath(c.FormValue("back"), "/dashboard"))
}

// markAllRead marks every unread notification of the user read in one
// transaction.
func (p *pages) markAllRead(c *fiber.Ctx, v *view) error {
	if _, err := p.App.MarkAllRead(c.UserContext(), v.User.ID); err != nil {
		return fmt.Errorf("mark all notifications read: %w", err)
	}
	return redirectWith(c, "/dashboard", url.Values{"notice": {"all_read"}})
}

// openNotification marks a notification read and goes to what it is
// about. A queued draft opens the Action Queue at the referral's newest
// open draft.
func (p *pages) openNotification(c *fiber.Ctx, v *view) error {
	n, err := p.App.MarkRead(c.UserContext(), v.User.ID, c.Params("id"))
	if err != nil {
		return err
	}
	target := notificationURL(n)
	if target == "" {
		return redirectAfterPost(c, "/dashboard")
	}
	if n.Kind == "draft_queued" {
		drafts, err := p.referralDrafts(c, v.User.ID, n.ReferralID)
		if err != nil {
			return err
		}
		if len(drafts) > 0 {
			target += "#draft-" + drafts[0].ID
		}
	}
	return redirectAfterPost(c, target)
}

// referralDrafts returns the open drafts of one referral, newest first.
func (p *pages) referralDrafts(c *fiber.Ctx, userID, referralID string) ([]store.Draft, error) {
	open, _, err := p.App.Drafts(c.UserContext(), userID, store.DraftOpen, store.Page{Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []store.Draft
	for _, d := range open {
		if d.ReferralID == referralID {
			out = append(out, d)
		}
	}
	return out, nil
}

// assistantData is the assistant page: the question and, after asking, the answer.
type assistantData struct {
	Question string
	Timezone string
	Answer   *assistantView
	Errors   fieldErrors
}

// assistantView is an answer laid out for the page: the sentences of the
// answer text, then its changes as lists.
type assistantView struct {
	Intro  []string
	Groups []assistantGroup
}

type assistantGroup struct {
	Title string
	Items []assistantLine
}

// assistantLine is one change: when, which client and what happened.
type assistantLine struct {
	At         time.Time
	Time       string
	ReferralID string
	ClientName string
	Text       string
}

// newAssistantView splits the answer into its prose and its items. The
// answer text repeats every item as a "- " line; those lines are dropped
// here because the items render as a list instead.
func newAssistantView(ans app.AssistantAnswer, timezone string) *assistantView {
	loc := time.UTC
	if l, err := time.LoadLocation(timezone); err == nil && timezone != "" {
		loc = l
	}
	out := &assistantView{}
	for _, para := range strings.Split(ans.Answer, "\n\n") {
		if strings.Contains(para, "\n- ") {
			continue
		}
		if para = strings.TrimSpace(para); para != "" {
			out.Intro = append(out.Intro, para)
		}
	}

	synced := assistantGroup{Title: "Synced updates"}
	other := assistantGroup{Title: "Everything else"}
	for _, it := range ans.Items {
		text := it.Text
		if it.Context != "" && !strings.Contains(text, it.Context) {
			text += " (" + it.Context + ")"
		}
		line := assistantLine{At: it.At, Time: it.At.In(loc).Format("Jan 2 15:04"), ReferralID: it.ReferralID, ClientName: it.ClientName, Text: text}
		if it.Synced {
			synced.Items = append(synced.Items, line)
		} else {
			other.Items = append(other.Items, line)
		}
	}
	for _, g := range []assistantGroup{synced, other} {
		if len(g.Items) > 0 {
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

func (p *pages) assistantPage(c *fiber.Ctx, v *view) error {
	v.Title, v.Nav = "Assistant", "assistant"
	v.Data = assistantData{}
	return p.tmpl.render(c, fiber.StatusOK, "assistant", v)
}

func (p *pages) assistantAsk(c *fiber.Ctx, v *view) error {
	v.Title, v.Nav = "Assistant", "assistant"
	data := assistantData{Question: strings.TrimSpace(c.FormValue("question")), Timezone: strings.TrimSpace(c.FormValue("timezone"))}
	ans, err := p.App.Assistant(c.UserContext(), v.User.ID, data.Question, data.Timezone)
	if err != nil {
		fe, ok := asFieldErrors(err)
		if !ok {
			return err
		}
		data.Errors = fe
		v.Data = data
		return p.tmpl.render(c, fiber.StatusBadRequest, "assistant", v)
	}
	data.Answer = newAssistantView(ans, data.Timezone)
	v.Data = data
	return p.tmpl.render(c, fiber.StatusOK, "assistant", v)
}

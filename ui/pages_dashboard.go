package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// dashboardData is the dashboard page: counts, unread banners and the
// week's activity with the client name of each referral.
type dashboardData struct {
	Summary       app.Dashboard
	Notifications []store.Notification
	ClientNames   map[string]string
}

func (p *pages) dashboardPage(c *fiber.Ctx, v *view) error {
	d, err := p.App.Dashboard(c.UserContext(), v.User.ID)
	if err != nil {
		return err
	}
	unread, _, err := p.App.Notifications(c.UserContext(), v.User.ID, true, store.Page{Limit: 20})
	if err != nil {
		return err
	}
	names, err := p.clientNames(v.User.ID, d.Recent)
	if err != nil {
		return err
	}
	v.Title, v.Nav = "Dashboard", "dashboard"
	v.Data = dashboardData{Summary: d, Notifications: unread, ClientNames: names}
	return p.tmpl.render(c, fiber.StatusOK, "dashboard", v)
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

// assistantData is the assistant page: the question and, after asking, the answer.
type assistantData struct {
	Question string
	Timezone string
	Answer   *app.AssistantAnswer
	Errors   fieldErrors
}

func (p *pages) assistantPage(c *fiber.Ctx, v *view) error {
	v.Title, v.Nav = "Assistant", "assistant"
	v.Data = assistantData{Question: "What changed on my referrals today?"}
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
	data.Answer = &ans
	v.Data = data
	return p.tmpl.render(c, fiber.StatusOK, "assistant", v)
}

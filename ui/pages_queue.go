package ui

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// draftForm is one open draft as the Action Queue shows it, with the
// unsaved text and the error after a failed action.
type draftForm struct {
	store.Draft
	ClientName string
	// PartnerName is the recipient's name, shown instead of the address.
	PartnerName string
	Errors      fieldErrors
	Error       string
	// PlaceholderWarning is set when Send found the template's gap unfilled.
	PlaceholderWarning bool
}

type queueData struct {
	Open []draftForm
	Sent []store.Draft
	// SentNames maps a sent draft's id to its partner's name.
	SentNames map[string]string
	// MailOff is set when no SMTP server is configured.
	MailOff bool
}

func (p *pages) actionQueuePage(c *fiber.Ctx, v *view) error {
	if msg := p.sentMessage(c, v.User.ID); msg != "" {
		v.Notice = msg
	}
	return p.renderQueue(c, v, fiber.StatusOK, nil)
}

// renderQueue shows the open drafts; failed replaces the stored copy of
// one draft with what the user submitted, so no typing is lost.
func (p *pages) renderQueue(c *fiber.Ctx, v *view, status int, failed *draftForm) error {
	ctx := c.UserContext()
	open, _, err := p.App.Drafts(ctx, v.User.ID, store.DraftOpen, store.Page{Limit: 100})
	if err != nil {
		return err
	}
	sent, _, err := p.App.Drafts(ctx, v.User.ID, store.DraftSent, store.Page{Limit: 10})
	if err != nil {
		return err
	}
	data := queueData{Sent: sent, SentNames: map[string]string{}, MailOff: p.App.Mailer == nil}
	err = p.App.Store.View(func(tx *store.Tx) error {
		for _, d := range sent {
			if pt, err := tx.Partner(d.PartnerID); err == nil && pt.UserID == v.User.ID {
				data.SentNames[d.ID] = pt.Name
			}
		}
		for _, d := range open {
			f := draftForm{Draft: d}
			if failed != nil && failed.ID == d.ID {
				f = *failed
			}
			if r, err := tx.Referral(d.ReferralID); err == nil && r.UserID == v.User.ID {
				f.ClientName = r.ClientName
			}
			if pt, err := tx.Partner(d.PartnerID); err == nil && pt.UserID == v.User.ID {
				f.PartnerName = pt.Name
			}
			data.Open = append(data.Open, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Action Queue", "queue", data
	return p.tmpl.render(c, status, "queue", v)
}

// draftPlaceholder is the gap the bill-paid template leaves for the user to
// fill. Sending a body that still contains it needs a second confirmation.
const draftPlaceholder = "[add the details]"

// draftLabels are the visible labels of the draft form's fields.
var draftLabels = map[string]string{"subject": "Subject", "body": "Message", "state": "Draft"}

// backToDraft sends a reload of a draft's POST address to the queue.
func (p *pages) backToDraft(c *fiber.Ctx, v *view) error {
	return c.Redirect("/action-queue#draft-"+url.PathEscape(c.Params("id")), fiber.StatusSeeOther)
}

// draftAction saves, sends or dismisses a draft from one form. Send saves
// the edited text first, so what goes out is what the user sees. Success
// redirects to the queue with a fixed notice; problems render the queue
// with the typed text kept.
func (p *pages) draftAction(c *fiber.Ctx, v *view) error {
	ctx := c.UserContext()
	id := c.Params("id")
	subject, body := c.FormValue("subject"), c.FormValue("body")
	action := c.FormValue("action")

	d, _, err := p.App.Drafts(ctx, v.User.ID, store.DraftOpen, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	form := draftForm{}
	for _, it := range d {
		if it.ID == id {
			form.Draft = it
		}
	}
	if form.ID == "" {
		return apiError(fiber.StatusNotFound, "not_found", "This draft is not in your Action Queue any more: it was sent or dismissed.", "")
	}
	storedSubject := form.Subject
	form.Subject, form.Body = subject, body

	switch action {
	case "dismiss":
		if !confirmed(c) {
			return p.renderConfirm(c, v, "Dismiss draft", confirmData{
				Question: "Dismiss the note “" + storedSubject + "”?",
				Detail:   "The draft leaves your Action Queue and is not sent. This cannot be undone.",
				Action:   "/action-queue/" + url.PathEscape(id),
				Fields:   map[string]string{"action": "dismiss"},
				Button:   "Dismiss draft",
				Cancel:   "/action-queue#draft-" + url.PathEscape(id),
			})
		}
		if _, err := p.App.DismissDraft(ctx, v.User.ID, id); err != nil {
			return err
		}
		return redirectWith(c, "/action-queue", url.Values{"notice": {"draft_dismissed"}})
	case "save", "send", "send_confirmed":
	default:
		return apiError(fiber.StatusBadRequest, "invalid_argument", "Unknown action "+action+": use save, send or dismiss.", "action")
	}

	if _, err := p.App.EditDraft(ctx, v.User.ID, id, app.DraftInput{Subject: &subject, Body: &body}); err != nil {
		fe, ok := asFieldErrors(err)
		if !ok {
			return err
		}
		check := newFormCheck(draftLabels)
		check.addAll(fe)
		form.Errors = check.errs
		return p.renderQueue(c, v, fiber.StatusBadRequest, &form)
	}
	if action == "save" {
		return redirectWith(c, "/action-queue", url.Values{"notice": {"draft_saved"}})
	}
	if action == "send" && strings.Contains(body, draftPlaceholder) {
		form.PlaceholderWarning = true
		return p.renderQueue(c, v, fiber.StatusUnprocessableEntity, &form)
	}

	sent, err := p.App.SendDraft(ctx, v.User.ID, id)
	if err != nil {
		switch {
		case errors.Is(err, app.ErrMailNotConfigured):
			form.Error = "Not sent: mail is not configured on this server. The draft is kept; see the setup note above."
			return p.renderQueue(c, v, fiber.StatusConflict, &form)
		case isFieldOrConflict(err):
			return err
		}
		p.log.Error().Err(err).Str("draft_id", id).Msg("send draft from the action queue failed")
		form.Error = "Not sent: the mail server did not accept the message. The draft is kept; try again later."
		return p.renderQueue(c, v, fiber.StatusBadGateway, &form)
	}
	return redirectWith(c, "/action-queue", url.Values{"notice": {p.sentNotice(sent)}, "draft": {sent.ID}})
}

// sentNotice returns the notice code for how SendDraft delivered a draft:
// by mail when a mailer is configured, inside ReferralPulse when the
// partner has an account here, or both.
func (p *pages) sentNotice(d store.Draft) string {
	mailed := p.App.Mailer != nil
	inApp := false
	_ = p.App.Store.View(func(tx *store.Tx) error {
		if pt, err := tx.Partner(d.PartnerID); err == nil {
			inApp = pt.State == store.PartnerRegistered && pt.PartnerUserID != ""
		}
		return nil
	})
	switch {
	case mailed && inApp:
		return noticeSentBoth
	case inApp:
		return noticeSentApp
	}
	return noticeSentMail
}

// sentMessage builds the notice after a send from the stored draft and
// partner. A draft id that is not the user's sent draft gives a plain text.
func (p *pages) sentMessage(c *fiber.Ctx, userID string) string {
	code := c.Query("notice")
	if code != noticeSentMail && code != noticeSentApp && code != noticeSentBoth {
		return ""
	}
	var d store.Draft
	var partner store.Partner
	err := p.App.Store.View(func(tx *store.Tx) error {
		var err error
		if d, err = tx.Draft(userID, c.Query("draft")); err != nil {
			return err
		}
		partner, err = tx.Partner(d.PartnerID)
		return err
	})
	if err != nil || d.State != store.DraftSent {
		return "Note sent."
	}
	switch code {
	case noticeSentApp:
		return "Delivered to " + partner.Name + " in ReferralPulse."
	case noticeSentBoth:
		return "Emailed to " + d.To + " and delivered to " + partner.Name + " in ReferralPulse."
	}
	return "Emailed to " + d.To + "."
}

func isFieldOrConflict(err error) bool {
	_, ok := app.IsInputError(err)
	return ok || app.IsConflict(err) || app.IsNotFound(err)
}

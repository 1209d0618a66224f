package ui

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// draftForm is one open draft as the Action Queue shows it, with the
// unsaved text and the error after a failed action.
type draftForm struct {
	store.Draft
	ClientName string
	Errors     fieldErrors
	Error      string
}

type queueData struct {
	Open []draftForm
	Sent []store.Draft
	// MailOff is set when no SMTP server is configured.
	MailOff bool
}

func (p *pages) actionQueuePage(c *fiber.Ctx, v *view) error {
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
	data := queueData{Sent: sent, MailOff: p.App.Mailer == nil}
	err = p.App.Store.View(func(tx *store.Tx) error {
		for _, d := range open {
			f := draftForm{Draft: d}
			if failed != nil && failed.ID == d.ID {
				f = *failed
			}
			if r, err := tx.Referral(d.ReferralID); err == nil && r.UserID == v.User.ID {
				f.ClientName = r.ClientName
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

// draftAction saves, sends or dismisses a draft from one form. Send saves
// the edited text first, so what goes out is what the user sees.
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
	form.Subject, form.Body = subject, body

	switch action {
	case "dismiss":
		if _, err := p.App.DismissDraft(ctx, v.User.ID, id); err != nil {
			return err
		}
		v.Notice = "Draft dismissed."
		return p.renderQueue(c, v, fiber.StatusOK, nil)
	case "save", "send":
	default:
		return apiError(fiber.StatusBadRequest, "invalid_argument", "Unknown action "+action+": use save, send or dismiss.", "action")
	}

	if _, err := p.App.EditDraft(ctx, v.User.ID, id, app.DraftInput{Subject: &subject, Body: &body}); err != nil {
		fe, ok := asFieldErrors(err)
		if !ok {
			return err
		}
		form.Errors = fe
		return p.renderQueue(c, v, fiber.StatusBadRequest, &form)
	}
	if action == "save" {
		v.Notice = "Draft saved."
		return p.renderQueue(c, v, fiber.StatusOK, nil)
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
	v.Notice = "Sent to " + sent.To + "."
	return p.renderQueue(c, v, fiber.StatusOK, nil)
}

func isFieldOrConflict(err error) bool {
	_, ok := app.IsInputError(err)
	return ok || app.IsConflict(err) || app.IsNotFound(err)
}

package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/referralpulse/referralpulse/store"
)

// Notifications returns one page of the user's notifications, newest first.
func (a *App) Notifications(ctx context.Context, userID string, unreadOnly bool, page store.Page) ([]store.Notification, string, error) {
	var out []store.Notification
	var next string
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		out, next, err = tx.UserNotifications(userID, unreadOnly, page)
		return err
	})
	return out, next, err
}

// MarkRead marks one of the user's notifications read.
func (a *App) MarkRead(ctx context.Context, userID, id string) (store.Notification, error) {
	var n store.Notification
	err := a.Store.Update(func(tx *store.Tx) error {
		var err error
		if n, err = tx.Notification(userID, id); err != nil {
			return err
		}
		n.Read = true
		return tx.PutNotification(n)
	})
	return n, err
}

// MarkAllRead marks every unread notification of the user read in one
// transaction and returns how many changed.
func (a *App) MarkAllRead(ctx context.Context, userID string) (int, error) {
	changed := 0
	err := a.Store.Update(func(tx *store.Tx) error {
		changed = 0
		for {
			unread, _, err := tx.UserNotifications(userID, true, store.Page{Limit: 200})
			if err != nil || len(unread) == 0 {
				return err
			}
			for _, n := range unread {
				n.Read = true
				if err := tx.PutNotification(n); err != nil {
					return err
				}
				changed++
			}
		}
	})
	return changed, err
}

// Drafts returns one page of the user's Action Queue, newest first.
func (a *App) Drafts(ctx context.Context, userID, state string, page store.Page) ([]store.Draft, string, error) {
	var out []store.Draft
	var next string
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		out, next, err = tx.UserDrafts(userID, state, page)
		return err
	})
	return out, next, err
}

// DraftInput is the body of PATCH /api/v1/action-queue/{id}.
type DraftInput struct {
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
}

// EditDraft changes an open draft's subject or body.
func (a *App) EditDraft(ctx context.Context, userID, id string, in DraftInput) (store.Draft, error) {
	var d store.Draft
	err := a.Store.Update(func(tx *store.Tx) error {
		var err error
		if d, err = tx.Draft(userID, id); err != nil {
			return err
		}
		if d.State != store.DraftOpen {
			return invalid("state", "the draft is %s and can no longer be edited", d.State)
		}
		if in.Subject != nil {
			if *in.Subject == "" {
				return invalid("subject", "must not be empty")
			}
			if err := checkLen("subject", *in.Subject, MaxNameLen); err != nil {
				return err
			}
			d.Subject = *in.Subject
		}
		if in.Body != nil {
			if err := checkLen("body", *in.Body, MaxNoteLen); err != nil {
				return err
			}
			d.Body = *in.Body
		}
		return tx.PutDraft(&d)
	})
	return d, err
}

// ErrMailNotConfigured means a draft cannot be mailed because SMTP is not set up.
var ErrMailNotConfigured = errors.New("sending mail is not configured: set smtp.host, smtp.port and smtp.from; the draft is kept")

// SendDraft mails a draft to its partner and, when the partner is a
// registered user, also delivers it in-app as a notification. Without SMTP
// a registered partner still gets it in-app; otherwise the draft stays and
// ErrMailNotConfigured is returned.
func (a *App) SendDraft(ctx context.Context, userID, id string) (store.Draft, error) {
	var d store.Draft
	var partner store.Partner
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		if d, err = tx.Draft(userID, id); err != nil {
			return err
		}
		partner, err = tx.Partner(d.PartnerID)
		return err
	})
	if err != nil {
		return d, err
	}
	if d.State != store.DraftOpen {
		return d, invalid("state", "the draft is already %s", d.State)
	}
	inApp := partner.State == store.PartnerRegistered && partner.PartnerUserID != ""
	if a.Mailer == nil && !inApp {
		return d, ErrMailNotConfigured
	}
	if a.Mailer != nil {
		if err := a.Mailer.Send(ctx, d.To, d.Subject, d.Body); err != nil {
			a.Log.Error().Err(err).Str("draft_id", d.ID).Msg("send draft failed; the draft is kept")
			return d, err
		}
	}

	var fx effects
	err = a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		var err error
		if d, err = tx.Draft(userID, id); err != nil {
			return err
		}
		d.State = store.DraftSent
		d.SentAt = a.now()
		if err := tx.PutDraft(&d); err != nil {
			return err
		}
		if err := tx.AddTimeline(&store.TimelineEntry{
			ReferralID: d.ReferralID, UserID: userID, At: a.now(), Kind: "draft_sent",
			Text: "Note sent to " + displayPartner(partner) + ": " + d.Subject, Source: "user",
		}); err != nil {
			return err
		}
		if !inApp {
			return nil
		}
		r, _ := tx.Referral(d.ReferralID)
		n := store.Notification{
			UserID: partner.PartnerUserID, At: a.now(), Kind: "message",
			Title: d.Subject, Body: d.Body, ReferralID: r.CounterpartID,
		}
		if err := tx.AddNotification(&n); err != nil {
			return err
		}
		// The note also stays on the partner's copy of the referral, so it
		// can be read again after the notification is marked read.
		if cp, err := tx.Referral(r.CounterpartID); err == nil && cp.UserID == partner.PartnerUserID {
			sender, _ := tx.User(userID)
			if err := tx.AddTimeline(&store.TimelineEntry{
				ReferralID: cp.ID, UserID: cp.UserID, At: a.now(), Kind: "message_received",
				Text: fmt.Sprintf("Note from %s: %s", displayName(sender), d.Subject), Source: "partner", Context: d.Body,
			}); err != nil {
				return err
			}
		}
		fx.notify(n)
		return nil
	})
	if err != nil {
		return d, err
	}
	a.flush(&fx)
	return d, nil
}

// DismissDraft closes a draft without sending it.
func (a *App) DismissDraft(ctx context.Context, userID, id string) (store.Draft, error) {
	var d store.Draft
	err := a.Store.Update(func(tx *store.Tx) error {
		var err error
		if d, err = tx.Draft(userID, id); err != nil {
			return err
		}
		if d.State != store.DraftOpen {
			return invalid("state", "the draft is already %s", d.State)
		}
		d.State = store.DraftDismissed
		return tx.PutDraft(&d)
	})
	return d, err
}

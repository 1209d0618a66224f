package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/referralpulse/referralpulse/store"
)

// PartnerInput is the body of POST and PATCH /api/v1/partners.
type PartnerInput struct {
	Name    *string `json:"name"`
	Email   *string `json:"email"`
	Company *string `json:"company"`
}

// CreatePartner adds a partner in state contact, or registered when a user
// with that email already exists here.
func (a *App) CreatePartner(ctx context.Context, userID string, in PartnerInput) (store.Partner, error) {
	var p store.Partner
	if err := applyPartnerInput(&p, in, true); err != nil {
		return p, err
	}
	p.UserID = userID
	p.State = store.PartnerContact
	err := a.Store.Update(func(tx *store.Tx) error {
		if me, err := tx.User(userID); err == nil && p.Email != "" && store.NormalizeEmail(me.Email) == store.NormalizeEmail(p.Email) {
			return invalid("email", "%q is your own address: a partner is someone else", p.Email)
		}
		if err := tx.PutPartner(&p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("you already have a partner with email %s: %w", p.Email, store.ErrConflict)
			}
			return err
		}
		return a.refreshPartnerState(tx, &p)
	})
	return p, err
}

func applyPartnerInput(p *store.Partner, in PartnerInput, creating bool) error {
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if in.Company != nil {
		p.Company = strings.TrimSpace(*in.Company)
	}
	if in.Email != nil {
		email, err := CheckEmail("email", *in.Email, true)
		if err != nil {
			return err
		}
		p.Email = email
	}
	if creating && p.Email == "" {
		return invalid("email", "is required")
	}
	if p.Name == "" {
		return invalid("name", "is required")
	}
	if err := checkLen("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	return checkLen("company", p.Company, MaxNameLen)
}

// UpdatePartner changes a partner's name, email or company. The email of a
// registered partner is fixed, because it names their account.
func (a *App) UpdatePartner(ctx context.Context, userID, id string, in PartnerInput) (store.Partner, error) {
	var p store.Partner
	var renamed []store.Referral
	err := a.Store.Update(func(tx *store.Tx) error {
		var err error
		if p, err = ownPartner(tx, userID, id); err != nil {
			return err
		}
		if in.Email != nil && p.State == store.PartnerRegistered && store.NormalizeEmail(*in.Email) != store.NormalizeEmail(p.Email) {
			return invalid("email", "cannot change the email of a registered partner: it is their sign-in address")
		}
		oldName := p.Name
		if err := applyPartnerInput(&p, in, false); err != nil {
			return err
		}
		if err := tx.PutPartner(&p); err != nil {
			return err
		}
		if p.Name != oldName {
			var err error
			if renamed, err = tx.PartnerReferrals(p.ID); err != nil {
				return err
			}
		}
		return a.refreshPartnerState(tx, &p)
	})
	if err == nil && len(renamed) > 0 {
		// Search finds referrals by partner name, so a rename re-indexes them.
		a.indexReferrals(renamed)
	}
	return p, err
}

func ownPartner(tx *store.Tx, userID, id string) (store.Partner, error) {
	p, err := tx.Partner(id)
	if err != nil || p.UserID != userID {
		return store.Partner{}, fmt.Errorf("partner %s: %w", id, store.ErrNotFound)
	}
	return p, nil
}

// Partner returns one of the user's partners.
func (a *App) Partner(ctx context.Context, userID, id string) (store.Partner, error) {
	var p store.Partner
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		p, err = ownPartner(tx, userID, id)
		return err
	})
	return p, err
}

// ListPartners returns one page of the user's partners, newest first.
func (a *App) ListPartners(ctx context.Context, userID string, page store.Page) ([]store.Partner, string, error) {
	var out []store.Partner
	var next string
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		out, next, err = tx.UserPartners(userID, page)
		return err
	})
	return out, next, err
}

// Invitation is the result of inviting a partner.
type Invitation struct {
	Partner store.Partner `json:"partner"`
	// URL is the sign-up link; share it by hand when mail is not configured.
	URL    string `json:"url"`
	Mailed bool   `json:"mailed"`
}

// InvitePartner moves a partner to invited with a fresh sign-up link and
// mails it when SMTP is configured. A registered partner cannot be invited.
func (a *App) InvitePartner(ctx context.Context, userID, id string) (Invitation, error) {
	var inv Invitation
	var sender store.User
	err := a.Store.Update(func(tx *store.Tx) error {
		p, err := ownPartner(tx, userID, id)
		if err != nil {
			return err
		}
		if err := a.refreshPartnerState(tx, &p); err != nil {
			return err
		}
		if p.State == store.PartnerRegistered {
			return fmt.Errorf("%s already has an account here: %w", p.Email, store.ErrConflict)
		}
		if sender, err = tx.User(userID); err != nil {
			return err
		}
		p.InviteToken = randomToken(24)
		p.InvitedAt = a.now()
		if p.State == store.PartnerContact {
			p.State = store.PartnerInvited
		}
		if err := tx.PutPartner(&p); err != nil {
			return err
		}
		inv.Partner = p
		return nil
	})
	if err != nil {
		return inv, err
	}
	inv.URL = strings.TrimRight(a.PublicURL, "/") + "/invite/" + inv.Partner.InviteToken

	if a.Mailer != nil {
		body := fmt.Sprintf("Hi %s,\n\n%s invites you to exchange client referrals on ReferralPulse.\n\nCreate your account here:\n%s\n",
			firstName(inv.Partner.Name), displayName(sender), inv.URL)
		if err := a.Mailer.Send(ctx, inv.Partner.Email, displayName(sender)+" invites you to ReferralPulse", body); err != nil {
			a.Log.Error().Err(err).Str("partner_id", inv.Partner.ID).Msg("invitation mail failed; the link can be shared by hand")
		} else {
			inv.Mailed = true
		}
	}
	return inv, nil
}

// MarkProfileUpdated records that an invited partner opened the invitation
// and filled in a profile without registering yet.
func (a *App) MarkProfileUpdated(ctx context.Context, inviteToken, name, company string) (store.Partner, error) {
	var p store.Partner
	err := a.Store.Update(func(tx *store.Tx) error {
		var err error
		if p, err = tx.PartnerByInviteToken(inviteToken); err != nil {
			return err
		}
		if p.State == store.PartnerRegistered {
			return nil
		}
		if strings.TrimSpace(name) != "" {
			p.Name = strings.TrimSpace(name)
		}
		if strings.TrimSpace(company) != "" {
			p.Company = strings.TrimSpace(company)
		}
		p.State = store.PartnerProfileUpdated
		return tx.PutPartner(&p)
	})
	return p, err
}

// PartnerReferrals lists the referrals exchanged with one partner, both ways.
func (a *App) PartnerReferrals(ctx context.Context, userID, id string) ([]store.Referral, error) {
	var out []store.Referral
	err := a.Store.View(func(tx *store.Tx) error {
		if _, err := ownPartner(tx, userID, id); err != nil {
			return err
		}
		var err error
		out, err = tx.PartnerReferrals(id)
		return err
	})
	return out, err
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

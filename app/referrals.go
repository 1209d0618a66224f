package app

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/referralpulse/referralpulse/store"
)

// Field limits; longer input is rejected with the field named.
const (
	MaxNameLen = 200
	MaxNoteLen = 5000
)

// ReferralInput is the body of POST /api/v1/referrals.
type ReferralInput struct {
	Direction     string `json:"direction"`
	PartnerID     string `json:"partner_id"`
	ClientName    string `json:"client_name"`
	ClientEmail   string `json:"client_email"`
	ClientCompany string `json:"client_company"`
	Note          string `json:"note"`
	Status        string `json:"status"`
}

// ReferralView is a referral with its links and pending suggestions.
type ReferralView struct {
	store.Referral
	Links              []store.Link       `json:"links"`
	PendingSuggestions []store.Suggestion `json:"pending_suggestions"`
}

// CheckEmail validates an address and returns it trimmed; empty is allowed
// unless required.
func CheckEmail(field, email string, required bool) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		if required {
			return "", invalid(field, "is required")
		}
		return "", nil
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return "", invalid(field, "%q is not a valid email address, for example name@example.com", email)
	}
	return email, nil
}

func checkStatus(status string) error {
	switch status {
	case store.StatusOpen, store.StatusWon, store.StatusLost:
		return nil
	}
	return invalid("status", "%q is not a status: use open, won or lost", status)
}

func checkLen(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "is %d characters long; the limit is %d", len(v), max)
	}
	return nil
}

func (in *ReferralInput) validate() error {
	in.ClientName = strings.TrimSpace(in.ClientName)
	in.ClientCompany = strings.TrimSpace(in.ClientCompany)
	switch in.Direction {
	case store.DirectionGiven, store.DirectionReceived:
	case "":
		return invalid("direction", "is required: use given or received")
	default:
		return invalid("direction", "%q is not a direction: use given or received", in.Direction)
	}
	if in.PartnerID == "" {
		return invalid("partner_id", "is required: create the partner first with POST /api/v1/partners")
	}
	if in.ClientName == "" {
		return invalid("client_name", "is required")
	}
	if err := checkLen("client_name", in.ClientName, MaxNameLen); err != nil {
		return err
	}
	if err := checkLen("client_company", in.ClientCompany, MaxNameLen); err != nil {
		return err
	}
	if err := checkLen("note", in.Note, MaxNoteLen); err != nil {
		return err
	}
	email, err := CheckEmail("client_email", in.ClientEmail, false)
	if err != nil {
		return err
	}
	in.ClientEmail = email
	if in.Status == "" {
		in.Status = store.StatusOpen
	}
	return checkStatus(in.Status)
}

// CreateReferral stores a referral for userID. When the partner is a
// registered user, the counterpart copy is created in their account too.
func (a *App) CreateReferral(ctx context.Context, userID string, in ReferralInput) (ReferralView, error) {
	if err := in.validate(); err != nil {
		return ReferralView{}, err
	}
	var fx effects
	var r store.Referral
	err := a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		partner, err := tx.Partner(in.PartnerID)
		if err != nil || partner.UserID != userID {
			return invalid("partner_id", "%q does not name one of your partners: list them with GET /api/v1/partners", in.PartnerID)
		}
		if err := a.refreshPartnerState(tx, &partner); err != nil {
			return err
		}

		r = store.Referral{
			UserID: userID, Direction: in.Direction, PartnerID: partner.ID,
			ClientName: in.ClientName, ClientEmail: in.ClientEmail, ClientCompany: in.ClientCompany,
			Note: in.Note, Status: in.Status,
		}
		if err := tx.PutReferral(&r); err != nil {
			return err
		}
		verb := "Referral received from"
		if r.Direction == store.DirectionGiven {
			verb = "Referral given to"
		}
		if err := tx.AddTimeline(&store.TimelineEntry{
			ReferralID: r.ID, UserID: userID, At: a.now(), Kind: "created",
			Text: fmt.Sprintf("%s %s", verb, displayPartner(partner)), Source: "user",
		}); err != nil {
			return err
		}
		fx.touch(r)
		fx.reindex(r)
		if partner.State == store.PartnerRegistered {
			if err := a.createCounterpart(tx, &r, partner, &fx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ReferralView{}, err
	}
	a.flush(&fx)
	return a.Referral(ctx, userID, r.ID)
}

// refreshPartnerState marks a partner registered when a user with their
// email exists, which is what ties referral pairs.
func (a *App) refreshPartnerState(tx *store.Tx, p *store.Partner) error {
	if p.State == store.PartnerRegistered || p.Email == "" {
		return nil
	}
	u, err := tx.UserByEmail(p.Email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if u.ID == p.UserID {
		return nil
	}
	p.State = store.PartnerRegistered
	p.PartnerUserID = u.ID
	return tx.PutPartner(p)
}

// createCounterpart creates the partner's copy of r (given becomes received
// and the other way round) and ties the two together.
func (a *App) createCounterpart(tx *store.Tx, r *store.Referral, partner store.Partner, fx *effects) error {
	owner, err := tx.User(r.UserID)
	if err != nil {
		return err
	}
	// The partner's own partner record for the owner: found by email or created registered.
	back, err := tx.PartnerByEmail(partner.PartnerUserID, owner.Email)
	if errors.Is(err, store.ErrNotFound) {
		back = store.Partner{UserID: partner.PartnerUserID, Name: owner.Name, Email: owner.Email}
	} else if err != nil {
		return err
	}
	back.State = store.PartnerRegistered
	back.PartnerUserID = owner.ID
	if err := tx.PutPartner(&back); err != nil {
		return err
	}

	direction := store.DirectionReceived
	verb := "Referral received from"
	if r.Direction == store.DirectionReceived {
		direction = store.DirectionGiven
		verb = "Referral given to"
	}
	cp := store.Referral{
		UserID: partner.PartnerUserID, Direction: direction, PartnerID: back.ID,
		ClientName: r.ClientName, ClientEmail: r.ClientEmail, ClientCompany: r.ClientCompany,
		Note: r.Note, Status: r.Status, CounterpartID: r.ID,
	}
	if err := tx.PutReferral(&cp); err != nil {
		return err
	}
	r.CounterpartID = cp.ID
	if err := tx.PutReferral(r); err != nil {
		return err
	}
	if err := tx.AddTimeline(&store.TimelineEntry{
		ReferralID: cp.ID, UserID: cp.UserID, At: a.now(), Kind: "created",
		Text: fmt.Sprintf("%s %s (shared by their ReferralPulse account)", verb, displayName(owner)), Source: "partner",
	}); err != nil {
		return err
	}
	fx.touch(cp)
	fx.touch(*r)
	fx.reindex(cp)
	return nil
}

// Referral returns one of the user's referrals with links and pending
// suggestions. Another user's id returns ErrNotFound.
func (a *App) Referral(ctx context.Context, userID, id string) (ReferralView, error) {
	var v ReferralView
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		v, err = referralView(tx, userID, id)
		return err
	})
	return v, err
}

func referralView(tx *store.Tx, userID, id string) (ReferralView, error) {
	r, err := ownReferral(tx, userID, id)
	if err != nil {
		return ReferralView{}, err
	}
	v := ReferralView{Referral: r, Links: []store.Link{}, PendingSuggestions: []store.Suggestion{}}
	links, err := tx.ReferralLinks(r.ID)
	if err != nil {
		return v, err
	}
	v.Links = append(v.Links, links...)
	suggestions, err := tx.ReferralSuggestions(r.ID)
	if err != nil {
		return v, err
	}
	for _, s := range suggestions {
		if s.State == store.SuggestionPending {
			v.PendingSuggestions = append(v.PendingSuggestions, s)
		}
	}
	return v, nil
}

func ownReferral(tx *store.Tx, userID, id string) (store.Referral, error) {
	r, err := tx.Referral(id)
	if err != nil || r.UserID != userID {
		return store.Referral{}, fmt.Errorf("referral %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}

// ListReferrals returns one page of the user's referrals, newest first.
// A non-empty query searches client names, emails and companies instead.
func (a *App) ListReferrals(ctx context.Context, userID string, f store.ReferralFilter, query string, page store.Page) ([]ReferralView, string, error) {
	if f.Direction != "" && f.Direction != store.DirectionGiven && f.Direction != store.DirectionReceived {
		return nil, "", invalid("direction", "%q is not a direction: use given or received", f.Direction)
	}
	if f.Status != "" {
		if err := checkStatus(f.Status); err != nil {
			return nil, "", err
		}
	}
	if strings.TrimSpace(query) != "" {
		return a.searchReferrals(userID, f, query, page)
	}

	var out []ReferralView
	var next string
	err := a.Store.View(func(tx *store.Tx) error {
		rs, n, err := tx.UserReferrals(userID, f, page)
		if err != nil {
			return err
		}
		next = n
		for _, r := range rs {
			v, err := referralView(tx, userID, r.ID)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, next, err
}

func (a *App) searchReferrals(userID string, f store.ReferralFilter, query string, page store.Page) ([]ReferralView, string, error) {
	page = page.Normalize()
	var ids []string
	if a.Index != nil {
		found, err := a.Index.SearchReferrals(userID, query, 200)
		if err != nil {
			return nil, "", fmt.Errorf("search referrals: %w", err)
		}
		ids = found
	}
	var out []ReferralView
	err := a.Store.View(func(tx *store.Tx) error {
		if a.Index == nil {
			q := strings.ToLower(query)
			err := tx.ForEachUserReferral(userID, func(r store.Referral) bool {
				if strings.Contains(strings.ToLower(r.ClientName+" "+r.ClientEmail+" "+r.ClientCompany), q) {
					ids = append(ids, r.ID)
				}
				return len(ids) < 200
			})
			if err != nil {
				return err
			}
		}
		for _, id := range ids {
			v, err := referralView(tx, userID, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if (f.Direction == "" || v.Direction == f.Direction) && (f.Status == "" || v.Status == f.Status) {
				out = append(out, v)
			}
			if len(out) == page.Limit {
				break
			}
		}
		return nil
	})
	return out, "", err
}

// SetStatus sets a referral's status by hand. The timeline entry reads "Status
// changed to won"; a registered partner's copy follows.
func (a *App) SetStatus(ctx context.Context, userID, id, status string) (ReferralView, error) {
	if err := checkStatus(status); err != nil {
		return ReferralView{}, err
	}
	var fx effects
	err := a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		r, err := ownReferral(tx, userID, id)
		if err != nil {
			return err
		}
		if r.Status == status {
			return nil
		}
		r.Status = status
		if err := tx.PutReferral(&r); err != nil {
			return err
		}
		fx.touch(r)
		if err := tx.AddTimeline(&store.TimelineEntry{
			ReferralID: r.ID, UserID: userID, At: a.now(), Kind: "status_changed",
			Text: fmt.Sprintf("Status changed to %s", status), Source: "user",
		}); err != nil {
			return err
		}
		return a.mirrorToPartner(tx, r, status, "partner update", "", &fx)
	})
	if err != nil {
		return ReferralView{}, err
	}
	a.flush(&fx)
	return a.Referral(ctx, userID, id)
}

// Timeline returns one page of a referral's timeline, newest first.
func (a *App) Timeline(ctx context.Context, userID, id string, page store.Page) ([]store.TimelineEntry, string, error) {
	var out []store.TimelineEntry
	var next string
	err := a.Store.View(func(tx *store.Tx) error {
		if _, err := ownReferral(tx, userID, id); err != nil {
			return err
		}
		var err error
		out, next, err = tx.ReferralTimeline(id, page)
		return err
	})
	return out, next, err
}

package store

import (
	"fmt"
	"time"
)

// PutPartner stores p and its indexes. Another partner of the same user with
// the same email returns ErrConflict.
func (t *Tx) PutPartner(p *Partner) error {
	now := time.Now().UTC()
	if p.ID == "" {
		p.ID = NewID()
		p.CreatedAt = now
	}
	p.UpdatedAt = now
	email := NormalizeEmail(p.Email)

	if old, err := t.Partner(p.ID); err == nil {
		oldEmail := NormalizeEmail(old.Email)
		if oldEmail != email && oldEmail != "" {
			if err := t.delIndex(bucketPartnerEmail, key(oldEmail, p.UserID)); err != nil {
				return err
			}
		}
	}
	if email != "" {
		if owner := t.bucket(bucketPartnerEmail).Get(key(email, p.UserID)); owner != nil && string(owner) != p.ID {
			return fmt.Errorf("partner with email %s: %w", email, ErrConflict)
		}
		if err := t.setIndex(bucketPartnerEmail, key(email, p.UserID), p.ID); err != nil {
			return err
		}
	}
	if err := t.put(bucketPartners, []byte(p.ID), p); err != nil {
		return err
	}
	return t.setIndex(bucketPartnerUser, key(p.UserID, p.ID), "")
}

// Partner loads one partner by id.
func (t *Tx) Partner(id string) (Partner, error) {
	var p Partner
	if err := t.get(bucketPartners, []byte(id), &p); err != nil {
		return p, fmt.Errorf("partner %s: %w", id, err)
	}
	return p, nil
}

// PartnerByEmail loads userID's partner with that address.
func (t *Tx) PartnerByEmail(userID, email string) (Partner, error) {
	id := t.bucket(bucketPartnerEmail).Get(key(NormalizeEmail(email), userID))
	if id == nil {
		return Partner{}, fmt.Errorf("partner with that email: %w", ErrNotFound)
	}
	return t.Partner(string(id))
}

// PartnersWithEmail lists every user's partner record with that address,
// which is how a new user finds the people who already know them.
func (t *Tx) PartnersWithEmail(email string) ([]Partner, error) {
	var ids []string
	t.scanPrefix(bucketPartnerEmail, key(NormalizeEmail(email), ""), func(_, v []byte) bool {
		ids = append(ids, string(v))
		return true
	})
	out := make([]Partner, 0, len(ids))
	for _, id := range ids {
		p, err := t.Partner(id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// UserPartners lists a user's partners newest first.
func (t *Tx) UserPartners(userID string, page Page) ([]Partner, string, error) {
	page = page.Normalize()
	var out []Partner
	var err error
	next := ""
	t.scanPrefixDesc(bucketPartnerUser, key(userID, ""), page.Cursor, func(k, _ []byte) bool {
		if len(out) == page.Limit {
			next = out[len(out)-1].ID
			return false
		}
		var p Partner
		if p, err = t.Partner(lastPart(k)); err != nil {
			return false
		}
		out = append(out, p)
		return true
	})
	return out, next, err
}

// PartnerByInviteToken finds the partner record an invitation link names.
func (t *Tx) PartnerByInviteToken(token string) (Partner, error) {
	var found Partner
	var err error
	ok := false
	t.scanPrefix(bucketPartners, nil, func(_, v []byte) bool {
		var p Partner
		if err = decode(v, &p); err != nil {
			return false
		}
		if p.InviteToken != "" && p.InviteToken == token {
			found, ok = p, true
			return false
		}
		return true
	})
	if err != nil {
		return found, err
	}
	if !ok {
		return found, fmt.Errorf("invitation: %w", ErrNotFound)
	}
	return found, nil
}

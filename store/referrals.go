package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// PutReferral stores r and keeps its indexes in step, including the index of
// Open unlinked received referrals that auto-link draws its candidates from.
func (t *Tx) PutReferral(r *Referral) error {
	now := time.Now().UTC()
	if r.ID == "" {
		r.ID = NewID()
		r.CreatedAt = now
	}
	r.UpdatedAt = now

	old, err := t.Referral(r.ID)
	if err == nil {
		if old.PartnerID != r.PartnerID {
			if err := t.delIndex(bucketRefPartner, key(old.PartnerID, r.ID)); err != nil {
				return err
			}
		}
		if err := t.addCount(old.UserID, old.Direction, old.Status, -1); err != nil {
			return err
		}
		for _, k := range facetKeys(old) {
			if err := t.delIndex(bucketReferralFacet, k); err != nil {
				return err
			}
		}
	}
	for _, k := range facetKeys(*r) {
		if err := t.setIndex(bucketReferralFacet, k, ""); err != nil {
			return err
		}
	}
	if err := t.addCount(r.UserID, r.Direction, r.Status, 1); err != nil {
		return err
	}
	if err := t.put(bucketReferrals, []byte(r.ID), r); err != nil {
		return err
	}
	if err := t.setIndex(bucketReferralUser, key(r.UserID, r.ID), ""); err != nil {
		return err
	}
	if err := t.setIndex(bucketRefPartner, key(r.PartnerID, r.ID), ""); err != nil {
		return err
	}
	if r.AutoLinkCandidate() {
		return t.setIndex(bucketOpenReceived, key(r.UserID, r.ID), "")
	}
	return t.delIndex(bucketOpenReceived, key(r.UserID, r.ID))
}

// Referral loads one referral by id.
func (t *Tx) Referral(id string) (Referral, error) {
	var r Referral
	if err := t.get(bucketReferrals, []byte(id), &r); err != nil {
		return r, fmt.Errorf("referral %s: %w", id, err)
	}
	return r, nil
}

// ReferralFilter narrows a referral list; empty fields match everything.
type ReferralFilter struct {
	Direction string
	Status    string
	PartnerID string
}

func (f ReferralFilter) match(r Referral) bool {
	return (f.Direction == "" || r.Direction == f.Direction) &&
		(f.Status == "" || r.Status == f.Status) &&
		(f.PartnerID == "" || r.PartnerID == f.PartnerID)
}

// facetKeys returns the keys of r in the direction and status index: one
// for the direction, one for the status and one for both.
func facetKeys(r Referral) [][]byte {
	return [][]byte{
		key(r.UserID, "d", r.Direction, r.ID),
		key(r.UserID, "s", r.Status, r.ID),
		key(r.UserID, "ds", r.Direction, r.Status, r.ID),
	}
}

// facetPrefix picks the narrowest index for a filter: the direction and
// status index when the filter names either, else every referral of the user.
func facetPrefix(userID string, f ReferralFilter) ([]byte, []byte) {
	switch {
	case f.Direction != "" && f.Status != "":
		return bucketReferralFacet, key(userID, "ds", f.Direction, f.Status, "")
	case f.Direction != "":
		return bucketReferralFacet, key(userID, "d", f.Direction, "")
	case f.Status != "":
		return bucketReferralFacet, key(userID, "s", f.Status, "")
	}
	return bucketReferralUser, key(userID, "")
}

// UserReferrals lists a user's referrals newest first and returns the cursor
// of the next page, or "" on the last page.
func (t *Tx) UserReferrals(userID string, f ReferralFilter, page Page) ([]Referral, string, error) {
	page = page.Normalize()
	var out []Referral
	var err error
	next := ""
	bucket, prefix := facetPrefix(userID, f)
	t.scanPrefixDesc(bucket, prefix, page.Cursor, func(k, _ []byte) bool {
		var r Referral
		if r, err = t.Referral(lastPart(k)); err != nil {
			return false
		}
		if !f.match(r) {
			return true
		}
		if len(out) == page.Limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, r)
		return true
	})
	return out, next, err
}

// ForEachUserReferral calls fn for each of a user's referrals, newest first, until fn returns false.
func (t *Tx) ForEachUserReferral(userID string, fn func(Referral) bool) error {
	var err error
	t.scanPrefixDesc(bucketReferralUser, key(userID, ""), "", func(k, _ []byte) bool {
		var r Referral
		if r, err = t.Referral(lastPart(k)); err != nil {
			return false
		}
		return fn(r)
	})
	return err
}

// AllReferrals calls fn for every referral on the appliance, for index rebuilds.
func (t *Tx) AllReferrals(fn func(Referral) error) error {
	var err error
	t.scanPrefix(bucketReferrals, nil, func(_, v []byte) bool {
		var r Referral
		if err = decode(v, &r); err != nil {
			return false
		}
		err = fn(r)
		return err == nil
	})
	return err
}

// OpenReceivedUnlinked returns up to limit of the user's received referrals
// that are Open and have no link, newest first.
func (t *Tx) OpenReceivedUnlinked(userID string, limit int) ([]Referral, error) {
	var out []Referral
	var err error
	t.scanPrefixDesc(bucketOpenReceived, key(userID, ""), "", func(k, _ []byte) bool {
		var r Referral
		if r, err = t.Referral(lastPart(k)); err != nil {
			return false
		}
		out = append(out, r)
		return len(out) < limit
	})
	return out, err
}

// PartnerReferrals lists the referrals exchanged with one partner, newest first.
func (t *Tx) PartnerReferrals(partnerID string) ([]Referral, error) {
	var out []Referral
	var err error
	t.scanPrefixDesc(bucketRefPartner, key(partnerID, ""), "", func(k, _ []byte) bool {
		var r Referral
		if r, err = t.Referral(lastPart(k)); err != nil {
			return false
		}
		out = append(out, r)
		return true
	})
	return out, err
}

func countKey(userID, direction, status string) []byte {
	return key("count", userID, direction, status)
}

func (t *Tx) addCount(userID, direction, status string, delta int64) error {
	b := t.bucket(bucketKV)
	k := countKey(userID, direction, status)
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n < 0 {
		n = 0
	}
	return b.Put(k, u64(uint64(n)))
}

// ReferralCount returns how many of a user's referrals have that direction
// and status, from counters kept by PutReferral.
func (t *Tx) ReferralCount(userID, direction, status string) int {
	if v := t.bucket(bucketKV).Get(countKey(userID, direction, status)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// SearchableCount returns how many referrals and CRM records exist, which is
// what the search index should hold.
func (t *Tx) SearchableCount() int {
	return t.bucket(bucketReferrals).Stats().KeyN + t.bucket(bucketEntities).Stats().KeyN
}

// AllEntities calls fn for every mirrored CRM record, for index rebuilds.
func (t *Tx) AllEntities(fn func(Entity) error) error {
	var err error
	t.scanPrefix(bucketEntities, nil, func(_, v []byte) bool {
		var e Entity
		if err = decode(v, &e); err != nil {
			return false
		}
		err = fn(e)
		return err == nil
	})
	return err
}

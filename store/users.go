package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// NormalizeEmail trims and case-folds an address for comparison and lookup.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// PutUser stores u. A new user whose email is already taken returns ErrConflict.
func (t *Tx) PutUser(u *User) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	email := NormalizeEmail(u.Email)
	if owner := t.bucket(bucketUserEmail).Get([]byte(email)); owner != nil && string(owner) != u.ID {
		return fmt.Errorf("user with email %s: %w", email, ErrConflict)
	}
	if err := t.put(bucketUsers, []byte(u.ID), u); err != nil {
		return err
	}
	return t.setIndex(bucketUserEmail, []byte(email), u.ID)
}

// User loads one user by id.
func (t *Tx) User(id string) (User, error) {
	var u User
	if err := t.get(bucketUsers, []byte(id), &u); err != nil {
		return u, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// UserByEmail loads the user with that address, compared after normalizing.
func (t *Tx) UserByEmail(email string) (User, error) {
	id := t.bucket(bucketUserEmail).Get([]byte(NormalizeEmail(email)))
	if id == nil {
		return User{}, fmt.Errorf("user with that email: %w", ErrNotFound)
	}
	return t.User(string(id))
}

// UserCount returns how many users exist.
func (t *Tx) UserCount() int {
	return t.bucket(bucketUsers).Stats().KeyN
}

// HashToken returns the stored form of an API token or session secret.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// PutToken stores an API token by its hash.
func (t *Tx) PutToken(tok *Token) error {
	if tok.ID == "" {
		tok.ID = NewID()
	}
	if tok.CreatedAt.IsZero() {
		tok.CreatedAt = time.Now().UTC()
	}
	return t.put(bucketTokens, []byte(tok.Hash), tok)
}

// TokenByHash loads the token whose secret hashes to hash.
func (t *Tx) TokenByHash(hash string) (Token, error) {
	var tok Token
	if err := t.get(bucketTokens, []byte(hash), &tok); err != nil {
		return tok, fmt.Errorf("api token: %w", err)
	}
	return tok, nil
}

// UserTokens lists a user's API tokens.
func (t *Tx) UserTokens(userID string) ([]Token, error) {
	var out []Token
	var err error
	t.scanPrefix(bucketTokens, nil, func(_, v []byte) bool {
		var tok Token
		if err = decode(v, &tok); err != nil {
			return false
		}
		if tok.UserID == userID {
			out = append(out, tok)
		}
		return true
	})
	return out, err
}

// DeleteToken revokes a user's token by id.
func (t *Tx) DeleteToken(userID, id string) error {
	toks, err := t.UserTokens(userID)
	if err != nil {
		return err
	}
	for _, tok := range toks {
		if tok.ID == id {
			return t.bucket(bucketTokens).Delete([]byte(tok.Hash))
		}
	}
	return fmt.Errorf("api token %s: %w", id, ErrNotFound)
}

// Session is a signed-in browser session, stored by the hash of its cookie value.
type Session struct {
	Hash      string    `json:"hash"`
	UserID    string    `json:"user_id"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PutSession stores a session.
func (t *Tx) PutSession(s Session) error {
	return t.put(bucketSessions, []byte(s.Hash), s)
}

// SessionByHash loads a live session; an expired one returns ErrNotFound.
func (t *Tx) SessionByHash(hash string) (Session, error) {
	var s Session
	if err := t.get(bucketSessions, []byte(hash), &s); err != nil {
		return s, fmt.Errorf("session: %w", err)
	}
	if time.Now().After(s.ExpiresAt) {
		return s, fmt.Errorf("session expired: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteSession ends a session.
func (t *Tx) DeleteSession(hash string) error {
	return t.bucket(bucketSessions).Delete([]byte(hash))
}

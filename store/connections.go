package store

import (
	"encoding/json"
	"fmt"
	"time"
)

type connectionSecrets struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// PutConnection stores c, sealing its tokens and webhook secrets.
func (t *Tx) PutConnection(c *Connection) error {
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	plain, err := json.Marshal(connectionSecrets{AccessToken: c.AccessToken, RefreshToken: c.RefreshToken})
	if err != nil {
		return fmt.Errorf("encode connection secrets: %w", err)
	}
	if c.Sealed, err = t.s.sealer.seal(plain); err != nil {
		return err
	}
	for id, wh := range c.Webhooks {
		if wh.SharedSecret != "" {
			if wh.SealedSecret, err = t.s.sealer.seal([]byte(wh.SharedSecret)); err != nil {
				return err
			}
		}
		c.Webhooks[id] = wh
	}

	if old, err := t.Connection(c.ID); err == nil && old.PortalID != "" && old.PortalID != c.PortalID {
		if err := t.delIndex(bucketConnPortal, key(old.PortalID, c.ID)); err != nil {
			return err
		}
	}
	if err := t.put(bucketConnections, []byte(c.ID), c); err != nil {
		return err
	}
	if err := t.setIndex(bucketConnUser, key(c.UserID, c.ID), ""); err != nil {
		return err
	}
	if c.PortalID != "" {
		return t.setIndex(bucketConnPortal, key(c.PortalID, c.ID), "")
	}
	return nil
}

// Connection loads one connection with its tokens and webhook secrets unsealed.
func (t *Tx) Connection(id string) (Connection, error) {
	var c Connection
	if err := t.get(bucketConnections, []byte(id), &c); err != nil {
		return c, fmt.Errorf("connection %s: %w", id, err)
	}
	if len(c.Sealed) > 0 {
		plain, err := t.s.sealer.open(c.Sealed)
		if err != nil {
			return c, fmt.Errorf("connection %s: %w", id, err)
		}
		var sec connectionSecrets
		if err := json.Unmarshal(plain, &sec); err != nil {
			return c, fmt.Errorf("connection %s: decode secrets: %w", id, err)
		}
		c.AccessToken, c.RefreshToken = sec.AccessToken, sec.RefreshToken
	}
	for wid, wh := range c.Webhooks {
		if len(wh.SealedSecret) > 0 {
			plain, err := t.s.sealer.open(wh.SealedSecret)
			if err != nil {
				return c, fmt.Errorf("connection %s webhook %s: %w", id, wid, err)
			}
			wh.SharedSecret = string(plain)
			c.Webhooks[wid] = wh
		}
	}
	return c, nil
}

// DeleteConnection removes the connection record; links made through it stay.
func (t *Tx) DeleteConnection(id string) error {
	c, err := t.Connection(id)
	if err != nil {
		return err
	}
	if err := t.delIndex(bucketConnUser, key(c.UserID, c.ID)); err != nil {
		return err
	}
	if c.PortalID != "" {
		if err := t.delIndex(bucketConnPortal, key(c.PortalID, c.ID)); err != nil {
			return err
		}
	}
	return t.bucket(bucketConnections).Delete([]byte(id))
}

// UserConnections lists a user's connections, newest first.
func (t *Tx) UserConnections(userID string) ([]Connection, error) {
	var ids []string
	t.scanPrefixDesc(bucketConnUser, key(userID, ""), "", func(k, _ []byte) bool {
		ids = append(ids, lastPart(k))
		return true
	})
	return t.connections(ids)
}

// PortalConnections lists every connection to one HubSpot portal.
func (t *Tx) PortalConnections(portalID string) ([]Connection, error) {
	var ids []string
	t.scanPrefix(bucketConnPortal, key(portalID, ""), func(k, _ []byte) bool {
		ids = append(ids, lastPart(k))
		return true
	})
	return t.connections(ids)
}

// AllConnections lists every connection on the appliance.
func (t *Tx) AllConnections() ([]Connection, error) {
	var ids []string
	t.scanPrefix(bucketConnections, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k))
		return true
	})
	return t.connections(ids)
}

func (t *Tx) connections(ids []string) ([]Connection, error) {
	out := make([]Connection, 0, len(ids))
	for _, id := range ids {
		c, err := t.Connection(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// PutOAuthState stores a pending authorization.
func (t *Tx) PutOAuthState(st OAuthState) error {
	return t.put(bucketOAuthStates, []byte(st.State), st)
}

// TakeOAuthState loads and deletes a pending authorization, so a state value
// works once. An expired state returns ErrNotFound.
func (t *Tx) TakeOAuthState(state string) (OAuthState, error) {
	var st OAuthState
	if err := t.get(bucketOAuthStates, []byte(state), &st); err != nil {
		return st, fmt.Errorf("oauth state: %w", err)
	}
	if err := t.bucket(bucketOAuthStates).Delete([]byte(state)); err != nil {
		return st, err
	}
	if time.Now().After(st.ExpiresAt) {
		return st, fmt.Errorf("oauth state expired: %w", ErrNotFound)
	}
	return st, nil
}

// GetValue reads a small connector-owned value, such as a pipeline cache.
func (t *Tx) GetValue(name string) ([]byte, bool) {
	v := t.bucket(bucketKV).Get([]byte(name))
	if v == nil {
		return nil, false
	}
	return append([]byte{}, v...), true
}

// PutValue writes a small connector-owned value.
func (t *Tx) PutValue(name string, v []byte) error {
	return t.bucket(bucketKV).Put([]byte(name), v)
}

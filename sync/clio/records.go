package clio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// clioID is a record id. Clio sends int64 ids (calendar entries use
// strings); both decode to the decimal string.
type clioID string

func (id *clioID) UnmarshalJSON(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		*id = ""
		return nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		*id = clioID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("id %s is neither a number nor a string", raw)
	}
	*id = clioID(n.String())
	return nil
}

// flexString accepts a JSON string or number, such as a bill number.
type flexString string

func (f *flexString) UnmarshalJSON(raw []byte) error {
	var id clioID
	if err := id.UnmarshalJSON(raw); err != nil {
		return err
	}
	*f = flexString(id)
	return nil
}

// money is an amount kept as its exact decimal value. Clio types money as a
// JSON number; a quoted decimal string is accepted as well.
type money struct {
	value *big.Rat
}

func (m *money) UnmarshalJSON(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		m.value = nil
		return nil
	}
	text := strings.Trim(string(raw), `"`)
	r, ok := new(big.Rat).SetString(strings.TrimSpace(text))
	if !ok {
		return fmt.Errorf("amount %s is not a decimal number", raw)
	}
	m.value = r
	return nil
}

func (m money) set() bool { return m.value != nil }

// String returns the amount with two decimals, or "" when it is absent.
func (m money) String() string {
	if m.value == nil {
		return ""
	}
	return m.value.FloatString(2)
}

type emailAddress struct {
	Address string `json:"address"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

type contact struct {
	ID                    clioID         `json:"id"`
	Name                  string         `json:"name"`
	FirstName             string         `json:"first_name"`
	LastName              string         `json:"last_name"`
	Type                  string         `json:"type"`
	PrimaryEmailAddress   string         `json:"primary_email_address"`
	SecondaryEmailAddress string         `json:"secondary_email_address"`
	EmailAddresses        []emailAddress `json:"email_addresses"`
}

// displayName returns the contact's name, built from its parts when Clio
// left name out.
func (c contact) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

type matter struct {
	ID            clioID   `json:"id"`
	Etag          string   `json:"etag"`
	DisplayNumber string   `json:"display_number"`
	Description   string   `json:"description"`
	Status        string   `json:"status"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
	Client        *contact `json:"client"`
}

// thin reports whether a delivery lacks what an event needs, so the matter
// has to be read from Clio.
func (m matter) thin() bool {
	return m.Status == "" || m.UpdatedAt == "" || m.Client == nil
}

type bill struct {
	ID        clioID     `json:"id"`
	Etag      string     `json:"etag"`
	Number    flexString `json:"number"`
	State     string     `json:"state"`
	Total     money      `json:"total"`
	Paid      money      `json:"paid"`
	Balance   money      `json:"balance"`
	PaidAt    string     `json:"paid_at"`
	UpdatedAt string     `json:"updated_at"`
	Matters   []matter   `json:"matters"`
	Client    *contact   `json:"client"`
}

func (b bill) thin() bool {
	return b.State == "" || b.UpdatedAt == "" || b.Matters == nil
}

// paid reports whether the bill is paid. state "paid" is the documented
// signal; a bill without a state but with a zero balance, a positive paid
// amount and a paid_at time counts too, and void, deleted or draft bills
// never do.
func (b bill) paid() bool {
	switch strings.ToLower(strings.TrimSpace(b.State)) {
	case "paid":
		return true
	case "void", "deleted", "draft", "awaiting_approval":
		return false
	}
	if !b.Balance.set() || !b.Paid.set() || b.PaidAt == "" {
		return false
	}
	return b.Balance.value.Sign() == 0 && b.Paid.value.Sign() > 0
}

// listHeader is the part of a listed record the poller reads.
type listHeader struct {
	ID        clioID `json:"id"`
	Etag      string `json:"etag"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// parseTime reads a Clio timestamp (ISO 8601 with a UTC offset) or a date
// and returns it in UTC; anything else gives the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

func decodeJSON(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode clio JSON: %w", err)
	}
	return nil
}

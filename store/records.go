package store

import "time"

// Referral directions and statuses as stored and as the API spells them.
const (
	DirectionGiven    = "given"
	DirectionReceived = "received"

	StatusOpen = "open"
	StatusWon  = "won"
	StatusLost = "lost"
)

// Partner states, in the order a partner moves through them.
const (
	PartnerContact        = "contact"
	PartnerInvited        = "invited"
	PartnerProfileUpdated = "profile_updated"
	PartnerRegistered     = "registered"
)

// Connection states.
const (
	ConnectionConnected    = "connected"
	ConnectionBroken       = "broken"
	ConnectionDisconnected = "disconnected"
)

// Inbox item states.
const (
	InboxPending = "pending"
	InboxDone    = "done"
	InboxFailed  = "failed"
)

// User is a professional with an account on this appliance.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Token is an API bearer token; only the SHA-256 of the secret is stored.
type Token struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	Hash       string    `json:"hash"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Partner is a person a user exchanges referrals with. PartnerUserID is set
// once the partner has an account here (state registered).
type Partner struct {
	ID            string    `json:"id"`
	UserID        string    `json:"owner_id"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	Company       string    `json:"company"`
	State         string    `json:"state"`
	PartnerUserID string    `json:"user_id,omitempty"`
	InviteToken   string    `json:"invite_token,omitempty"`
	InvitedAt     time.Time `json:"invited_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Referral is one copy of a referral: the sender's given copy or the
// recipient's received copy. CounterpartID ties the two copies together when
// the partner is a registered user.
type Referral struct {
	ID            string    `json:"id"`
	UserID        string    `json:"user_id"`
	Direction     string    `json:"direction"`
	PartnerID     string    `json:"partner_id"`
	ClientName    string    `json:"client_name"`
	ClientEmail   string    `json:"client_email"`
	ClientCompany string    `json:"client_company"`
	Note          string    `json:"note"`
	Status        string    `json:"status"`
	CounterpartID string    `json:"counterpart_id,omitempty"`
	LinkCount     int       `json:"link_count"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// AutoLinkCandidate reports whether the matcher may consider the referral.
func (r Referral) AutoLinkCandidate() bool {
	return r.Direction == DirectionReceived && r.Status == StatusOpen && r.LinkCount == 0
}

// Link ties a referral to a CRM matter or deal.
type Link struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	ReferralID   string    `json:"referral_id"`
	Provider     string    `json:"provider"`
	ConnectionID string    `json:"connection_id"`
	EntityType   string    `json:"entity_type"`
	EntityID     string    `json:"entity_id"`
	EntityName   string    `json:"entity_name"`
	LinkedBy     string    `json:"linked_by"`
	EntityGone   bool      `json:"entity_deleted,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Suggestion states.
const (
	SuggestionPending   = "pending"
	SuggestionConfirmed = "confirmed"
	SuggestionRejected  = "rejected"
)

// Suggestion is a possible match between a CRM entity and a referral that
// waits for the user's confirm or reject.
type Suggestion struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	ReferralID   string    `json:"referral_id"`
	Provider     string    `json:"provider"`
	ConnectionID string    `json:"connection_id"`
	EntityType   string    `json:"entity_type"`
	EntityID     string    `json:"entity_id"`
	EntityName   string    `json:"entity_name"`
	Reason       string    `json:"reason"`
	Score        float64   `json:"score"`
	State        string    `json:"state"`
	CreatedAt    time.Time `json:"created_at"`
}

// TimelineEntry is one line of a referral's activity timeline.
type TimelineEntry struct {
	ID         string    `json:"id"`
	ReferralID string    `json:"referral_id"`
	UserID     string    `json:"user_id"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Text       string    `json:"text"`
	// Source is clio, hubspot, partner, user or system.
	Source  string `json:"source"`
	Context string `json:"context"`
}

// EntityRef names the CRM record a notification is about.
type EntityRef struct {
	Provider     string `json:"provider"`
	ConnectionID string `json:"connection_id"`
	EntityType   string `json:"entity_type"`
	EntityID     string `json:"entity_id"`
	Name         string `json:"name"`
}

// Notification is a dashboard banner for one user.
type Notification struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	At         time.Time  `json:"at"`
	Kind       string     `json:"kind"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	ReferralID string     `json:"referral_id,omitempty"`
	Entity     *EntityRef `json:"entity,omitempty"`
	Read       bool       `json:"read"`
}

// Draft states.
const (
	DraftOpen      = "draft"
	DraftSent      = "sent"
	DraftDismissed = "dismissed"
)

// Draft is a message in a user's Action Queue.
type Draft struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Kind       string    `json:"kind"`
	ReferralID string    `json:"referral_id"`
	PartnerID  string    `json:"partner_id"`
	To         string    `json:"to"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	State      string    `json:"state"`
	SourceKey  string    `json:"source_key,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
}

// Connection is one user's link to a Clio account or a HubSpot portal.
// AccessToken and RefreshToken live only in memory; the store seals them
// with AES-GCM into Sealed before writing.
type Connection struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	Provider     string    `json:"provider"`
	AccountName  string    `json:"account_name"`
	Region       string    `json:"region,omitempty"`
	PortalID     string    `json:"portal_id,omitempty"`
	State        string    `json:"state"`
	StateMessage string    `json:"state_message,omitempty"`
	CreatedAt    time.Time `json:"created_at"`

	AccessToken  string    `json:"-"`
	RefreshToken string    `json:"-"`
	TokenExpiry  time.Time `json:"token_expiry,omitzero"`
	Sealed       []byte    `json:"sealed,omitempty"`

	// Webhooks maps the CRM's webhook id to what it watches; Clio only.
	Webhooks map[string]Webhook `json:"webhooks,omitempty"`
	// PollOnlyReason is the reason webhooks are off, shown on the health page.
	PollOnlyReason string `json:"poll_only_reason,omitempty"`

	Health Health `json:"health"`
	// Extra holds connector-specific settings such as a cached pipeline list.
	Extra map[string]string `json:"extra,omitempty"`
}

// Webhook is one CRM webhook subscription owned by a connection.
type Webhook struct {
	ID           string    `json:"id"`
	Model        string    `json:"model"`
	Events       []string  `json:"events"`
	SharedSecret string    `json:"-"`
	Status       string    `json:"status"`
	ExpiresAt    time.Time `json:"expires_at"`
	// SealedSecret is SharedSecret encrypted at rest.
	SealedSecret []byte `json:"sealed_secret,omitempty"`
}

// Health is the sync health shown on the integrations page.
type Health struct {
	LastWebhookAt    time.Time `json:"last_webhook_at,omitzero"`
	LastPollAt       time.Time `json:"last_poll_at,omitzero"`
	LastPollError    string    `json:"last_poll_error,omitempty"`
	Cursor           time.Time `json:"cursor,omitzero"`
	MissedByWebhooks int       `json:"missed_by_webhooks"`
	FailedEvents     int       `json:"failed_events"`
	// PausedUntil is set when the CRM's daily rate limit stops polling.
	PausedUntil time.Time `json:"paused_until,omitzero"`
}

// Entity mirrors a CRM matter or deal as last applied. Version is the CRM
// version of the newest event applied; older events never change Outcome.
type Entity struct {
	ConnectionID  string    `json:"connection_id"`
	Provider      string    `json:"provider"`
	EntityType    string    `json:"entity_type"`
	EntityID      string    `json:"entity_id"`
	Name          string    `json:"name"`
	ClientName    string    `json:"client_name"`
	ClientEmails  []string  `json:"client_emails,omitempty"`
	ClientCompany string    `json:"client_company,omitempty"`
	Outcome       string    `json:"outcome,omitempty"`
	StatusLabel   string    `json:"status_label,omitempty"`
	Version       time.Time `json:"version"`
	CRMCreatedAt  time.Time `json:"crm_created_at,omitzero"`
	// Seen is set once the matcher has run for the entity, so it never runs again.
	Seen      bool      `json:"seen"`
	Deleted   bool      `json:"deleted,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// InboxItem is one raw CRM change as received, waiting for the worker.
type InboxItem struct {
	Seq          uint64 `json:"seq"`
	Key          string `json:"key"`
	Provider     string `json:"provider"`
	ConnectionID string `json:"connection_id"`
	// Source is "webhook" or "poll".
	Source     string    `json:"source"`
	Payload    []byte    `json:"payload"`
	ReceivedAt time.Time `json:"received_at"`

	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	DoneAt        time.Time `json:"done_at,omitzero"`
}

// OAuthState is a pending OAuth authorization, keyed by its random state value.
type OAuthState struct {
	State     string    `json:"state"`
	UserID    string    `json:"user_id"`
	Provider  string    `json:"provider"`
	Region    string    `json:"region,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

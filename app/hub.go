package app

import (
	"sync"
)

// LiveEvent is one message on a user's Server-Sent Events stream.
type LiveEvent struct {
	// Type is "notification" or "referral_updated".
	Type string `json:"type"`
	Data any    `json:"data"`
}

// Hub fans live events out to each user's open streams. A slow stream
// drops events rather than blocking the rules engine; the client reloads
// the notification list when it reconnects.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan LiveEvent]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[string]map[chan LiveEvent]struct{}{}}
}

// Subscribe returns a channel of the user's events and a function that ends the subscription.
func (h *Hub) Subscribe(userID string) (<-chan LiveEvent, func()) {
	ch := make(chan LiveEvent, 64)
	h.mu.Lock()
	if h.subs[userID] == nil {
		h.subs[userID] = map[chan LiveEvent]struct{}{}
	}
	h.subs[userID][ch] = struct{}{}
	h.mu.Unlock()

	return ch, func() {
		h.mu.Lock()
		delete(h.subs[userID], ch)
		h.mu.Unlock()
	}
}

// Publish sends ev to every open stream of the user without waiting.
func (h *Hub) Publish(userID string, ev LiveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[userID] {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Subscribers returns how many streams are open, for metrics.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.subs {
		n += len(s)
	}
	return n
}

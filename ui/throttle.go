package ui

import (
	"strings"
	"sync"
	"time"
)

// Sign-in throttling: after loginMaxFailures failed attempts within
// loginWindow, for one account or from one client address, further attempts
// get 429 until the window ends.
const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
	// throttleMaxKeys bounds memory under a spray of addresses or emails;
	// expired entries are dropped first, then the oldest.
	throttleMaxKeys = 10000
)

// loginThrottle counts failed sign-ins per key in fixed windows. It lives in
// memory, so a restart forgets the counts.
type loginThrottle struct {
	mu      sync.Mutex
	entries map[string]throttleEntry
	now     func() time.Time
}

type throttleEntry struct {
	failures int
	start    time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{entries: map[string]throttleEntry{}, now: time.Now}
}

// throttleKeys returns the account key and the address key of a sign-in.
func throttleKeys(email, ip string) []string {
	return []string{"account:" + strings.ToLower(strings.TrimSpace(email)), "ip:" + ip}
}

// blocked returns how long until any of keys may try again; zero means now.
func (t *loginThrottle) blocked(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok || now.Sub(e.start) >= loginWindow {
			continue
		}
		if e.failures >= loginMaxFailures {
			if left := loginWindow - now.Sub(e.start); left > wait {
				wait = left
			}
		}
	}
	return wait
}

// fail records one failed attempt under every key.
func (t *loginThrottle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= throttleMaxKeys {
		t.prune(now)
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok || now.Sub(e.start) >= loginWindow {
			e = throttleEntry{start: now}
		}
		e.failures++
		t.entries[k] = e
	}
}

// succeed clears the account's count after a correct password. The address
// count stays, so one valid account cannot reset a guessing run.
func (t *loginThrottle) succeed(accountKey string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, accountKey)
}

func (t *loginThrottle) prune(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range t.entries {
		if now.Sub(e.start) >= loginWindow {
			delete(t.entries, k)
			continue
		}
		if oldestKey == "" || e.start.Before(oldest) {
			oldestKey, oldest = k, e.start
		}
	}
	if len(t.entries) >= throttleMaxKeys && oldestKey != "" {
		delete(t.entries, oldestKey)
	}
}

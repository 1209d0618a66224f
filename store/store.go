// Package store keeps every record of the appliance in one bbolt file:
// JSON values in a bucket per record kind, secondary index buckets for the
// lookups the sync rules need, and a schema version in the meta bucket.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLocked means another process holds the database file.
	ErrLocked = errors.New("database is locked by another process")
)

// SchemaVersion is the layout this build writes. Open migrates older files
// forward and rejects newer ones.
const SchemaVersion = 2

// FileName is the bbolt file's name inside the data directory.
const FileName = "referralpulse.db"

var (
	bucketMeta          = []byte("meta")
	bucketUsers         = []byte("users")
	bucketUserEmail     = []byte("idx_user_email")
	bucketTokens        = []byte("tokens")
	bucketPartners      = []byte("partners")
	bucketPartnerUser   = []byte("idx_partner_user")
	bucketPartnerEmail  = []byte("idx_partner_email")
	bucketReferrals     = []byte("referrals")
	bucketReferralUser  = []byte("idx_referral_user")
	bucketOpenReceived  = []byte("idx_referral_open_received")
	bucketRefPartner    = []byte("idx_referral_partner")
	bucketLinks         = []byte("links")
	bucketLinkEntity    = []byte("idx_link_entity")
	bucketLinkReferral  = []byte("idx_link_referral")
	bucketSuggestions   = []byte("suggestions")
	bucketSuggReferral  = []byte("idx_suggestion_referral")
	bucketSuggEntity    = []byte("idx_suggestion_entity")
	bucketRejected      = []byte("rejected_pairs")
	bucketTimeline      = []byte("timeline")
	bucketTimelineUser  = []byte("idx_timeline_user")
	bucketNotifications = []byte("notifications")
	bucketDrafts        = []byte("drafts")
	bucketDraftSource   = []byte("idx_draft_source")
	bucketConnections   = []byte("connections")
	bucketConnUser      = []byte("idx_connection_user")
	bucketConnPortal    = []byte("idx_connection_portal")
	bucketEntities      = []byte("entities")
	bucketInbox         = []byte("inbox")
	bucketInboxKeys     = []byte("idx_inbox_key")
	bucketInboxPending  = []byte("idx_inbox_pending")
	bucketInboxFailed   = []byte("idx_inbox_failed")
	bucketOAuthStates   = []byte("oauth_states")
	bucketSessions      = []byte("sessions")
	bucketKV            = []byte("kv")
	// bucketReferralFacet indexes referrals by user plus direction and/or
	// status, so a filtered list reads only matching records.
	bucketReferralFacet = []byte("idx_referral_facet")
)

var allBuckets = [][]byte{
	bucketMeta, bucketUsers, bucketUserEmail, bucketTokens, bucketPartners,
	bucketPartnerUser, bucketPartnerEmail, bucketReferrals, bucketReferralUser,
	bucketOpenReceived, bucketRefPartner, bucketLinks, bucketLinkEntity,
	bucketLinkReferral, bucketSuggestions, bucketSuggReferral, bucketSuggEntity,
	bucketRejected, bucketTimeline, bucketTimelineUser, bucketNotifications,
	bucketDrafts, bucketDraftSource, bucketConnections, bucketConnUser,
	bucketConnPortal, bucketEntities, bucketInbox, bucketInboxKeys,
	bucketInboxPending, bucketInboxFailed, bucketOAuthStates, bucketSessions, bucketKV,
}

// migrations[i] upgrades a file from schema version i to i+1. Version 0 is
// a new, empty file.
var migrations = []func(tx *bolt.Tx) error{
	func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// Version 2 adds the direction and status index of referrals and fills it.
	func(tx *bolt.Tx) error {
		facets, err := tx.CreateBucketIfNotExists(bucketReferralFacet)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketReferralFacet, err)
		}
		return tx.Bucket(bucketReferrals).ForEach(func(_, v []byte) error {
			var r Referral
			if err := decode(v, &r); err != nil {
				return err
			}
			for _, k := range facetKeys(r) {
				if err := facets.Put(k, nil); err != nil {
					return err
				}
			}
			return nil
		})
	},
}

// Store is the open database. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	sealer *sealer
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock; 0 means one second.
	LockTimeout time.Duration
	// ReadOnly opens the file for reading, which lets a backup copy a file
	// that no server holds without taking the write lock.
	ReadOnly bool
}

// Open opens or creates the database in dir and migrates it to SchemaVersion.
// secretKey seals CRM tokens; any length works, it is hashed to 32 bytes.
func Open(dir string, secretKey []byte, opts Options) (*Store, error) {
	if len(secretKey) == 0 {
		return nil, errors.New("open store: empty secret key: set security.secret_key or let the server generate one in the data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}

	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("data directory %s is in use by another referralpulse process, which holds the lock on %s; stop that process first: %w", dir, FileName, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.MaxBatchSize = 64
	db.MaxBatchDelay = 2 * time.Millisecond

	s := &Store{db: db, path: path, sealer: newSealer(secretKey)}
	if !opts.ReadOnly {
		if err := s.migrate(); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		version := 0
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := meta.Get([]byte("schema_version")); len(v) == 8 {
				version = int(binary.BigEndian.Uint64(v))
			}
		}
		if version > SchemaVersion {
			return fmt.Errorf("database %s has schema version %d but this build understands up to %d: run a newer referralpulse", s.path, version, SchemaVersion)
		}
		for v := version; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(SchemaVersion))
	})
}

// Path returns the bbolt file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in one read-write transaction; an error rolls it all back.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, s: s}) })
}

// View runs fn in one read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, s: s}) })
}

// Batch runs fn in a transaction shared with concurrent callers. fn may run
// more than once, so it must have no side effects outside the transaction.
func (s *Store) Batch(fn func(tx *Tx) error) error {
	return s.db.Batch(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, s: s}) })
}

// Backup writes a consistent copy of the whole file to w from one read
// transaction, so writers keep going while it runs.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// SchemaVersionOf returns the schema version stored in the file.
func (s *Store) SchemaVersionOf() (int, error) {
	var version int
	err := s.db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := meta.Get([]byte("schema_version")); len(v) == 8 {
				version = int(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return version, err
}

// Tx is a transaction with typed accessors for every record kind.
type Tx struct {
	tx *bolt.Tx
	s  *Store
}

// NewID returns a new sortable id (a ULID: time first, then randomness).
func NewID() string { return ulid.Make().String() }

// ValidID reports whether s has the form of an id NewID makes.
func ValidID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// key joins parts with a NUL byte, which no id or email contains.
func key(parts ...string) []byte {
	return []byte(joinKey(parts...))
}

func joinKey(parts ...string) string {
	var buf bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			buf.WriteByte(0)
		}
		buf.WriteString(p)
	}
	return buf.String()
}

func (t *Tx) bucket(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		panic(fmt.Sprintf("store: bucket %s missing: schema not migrated", name))
	}
	return b
}

func (t *Tx) get(bucket []byte, k []byte, v any) error {
	raw := t.bucket(bucket).Get(k)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s record: %w", bucket, err)
	}
	return nil
}

func (t *Tx) put(bucket []byte, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s record: %w", bucket, err)
	}
	return t.bucket(bucket).Put(k, raw)
}

func (t *Tx) setIndex(bucket []byte, k []byte, v string) error {
	return t.bucket(bucket).Put(k, []byte(v))
}

func (t *Tx) delIndex(bucket []byte, k []byte) error {
	return t.bucket(bucket).Delete(k)
}

// scanPrefix walks keys with prefix newest first (descending) starting
// strictly after the key prefix+after when after is set; fn returns false to stop.
func (t *Tx) scanPrefixDesc(bucket []byte, prefix []byte, after string, fn func(k, v []byte) bool) {
	c := t.bucket(bucket).Cursor()
	var k, v []byte
	if after != "" {
		start := append(append([]byte{}, prefix...), after...)
		k, v = c.Seek(start)
		if k == nil {
			k, v = c.Last()
		}
		for k != nil && bytes.Compare(k, start) >= 0 {
			k, v = c.Prev()
		}
	} else {
		// Seek just past the prefix range, then step back.
		end := append(append([]byte{}, prefix...), 0xff)
		k, v = c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if !fn(k, v) {
			return
		}
	}
}

// scanPrefix walks keys with prefix in ascending order.
func (t *Tx) scanPrefix(bucket []byte, prefix []byte, fn func(k, v []byte) bool) {
	c := t.bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !fn(k, v) {
			return
		}
	}
}

// lastPart returns what follows the final NUL separator of an index key.
func lastPart(k []byte) string {
	if i := bytes.LastIndexByte(k, 0); i >= 0 {
		return string(k[i+1:])
	}
	return string(k)
}

// Page is one page of a newest-first list.
type Page struct {
	Limit  int
	Cursor string
}

// Normalize applies the API's default (50) and maximum (200) page sizes.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	if p.Limit > 200 {
		p.Limit = 200
	}
	return p
}

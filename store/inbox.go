package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

// Enqueue stores items that are new by Key and returns how many were new.
// A Key seen before, in any state, is skipped: that is the deduplication
// every CRM delivery goes through.
func (t *Tx) Enqueue(items ...InboxItem) (int, error) {
	added := 0
	inbox := t.bucket(bucketInbox)
	for _, it := range items {
		if it.Key == "" {
			return added, fmt.Errorf("inbox item without a key from %s", it.Provider)
		}
		if t.bucket(bucketInboxKeys).Get([]byte(it.Key)) != nil {
			continue
		}
		seq, err := inbox.NextSequence()
		if err != nil {
			return added, err
		}
		it.Seq = seq
		it.State = InboxPending
		if it.ReceivedAt.IsZero() {
			it.ReceivedAt = time.Now().UTC()
		}
		inbox.FillPercent = 1.0
		if err := t.put(bucketInbox, u64(seq), it); err != nil {
			return added, err
		}
		if err := t.bucket(bucketInboxKeys).Put([]byte(it.Key), u64(seq)); err != nil {
			return added, err
		}
		if err := t.bucket(bucketInboxPending).Put(u64(seq), nil); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

// HasInboxKey reports whether an item with that key was ever enqueued.
func (t *Tx) HasInboxKey(k string) bool {
	return t.bucket(bucketInboxKeys).Get([]byte(k)) != nil
}

// InboxItem loads one item by sequence number.
func (t *Tx) InboxItem(seq uint64) (InboxItem, error) {
	var it InboxItem
	if err := t.get(bucketInbox, u64(seq), &it); err != nil {
		return it, fmt.Errorf("inbox item %d: %w", seq, err)
	}
	return it, nil
}

// PutInboxItem saves an item's new state and keeps the pending and failed
// indexes in step with it.
func (t *Tx) PutInboxItem(it InboxItem) error {
	if err := t.put(bucketInbox, u64(it.Seq), it); err != nil {
		return err
	}
	pending, failed := t.bucket(bucketInboxPending), t.bucket(bucketInboxFailed)
	k := u64(it.Seq)
	switch it.State {
	case InboxPending:
		if err := failed.Delete(k); err != nil {
			return err
		}
		return pending.Put(k, nil)
	case InboxFailed:
		if err := pending.Delete(k); err != nil {
			return err
		}
		return failed.Put(k, nil)
	default:
		if err := pending.Delete(k); err != nil {
			return err
		}
		return failed.Delete(k)
	}
}

// PendingInbox returns up to limit pending items in arrival order.
func (t *Tx) PendingInbox(limit int) ([]InboxItem, error) {
	return t.inboxIndex(bucketInboxPending, limit, "")
}

// FailedInbox returns parked items in arrival order, optionally of one connection.
func (t *Tx) FailedInbox(connectionID string, limit int) ([]InboxItem, error) {
	return t.inboxIndex(bucketInboxFailed, limit, connectionID)
}

func (t *Tx) inboxIndex(bucket []byte, limit int, connectionID string) ([]InboxItem, error) {
	var out []InboxItem
	var err error
	t.scanPrefix(bucket, nil, func(k, _ []byte) bool {
		var it InboxItem
		if it, err = t.InboxItem(binary.BigEndian.Uint64(k)); err != nil {
			return false
		}
		if connectionID == "" || it.ConnectionID == connectionID {
			out = append(out, it)
		}
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// InboxDepth returns the number of pending and parked items.
func (t *Tx) InboxDepth() (pending, failed int) {
	return t.countKeys(bucketInboxPending), t.countKeys(bucketInboxFailed)
}

// countKeys walks a bucket with a cursor, which unlike Stats also counts
// the writes of the current transaction.
func (t *Tx) countKeys(bucket []byte) int {
	n := 0
	c := t.bucket(bucket).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

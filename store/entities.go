package store

import "fmt"

func entityKey(connectionID, entityType, entityID string) []byte {
	return key(connectionID, entityType, entityID)
}

// Entity loads the mirror of one CRM record.
func (t *Tx) Entity(connectionID, entityType, entityID string) (Entity, error) {
	var e Entity
	if err := t.get(bucketEntities, entityKey(connectionID, entityType, entityID), &e); err != nil {
		return e, fmt.Errorf("%s %s: %w", entityType, entityID, err)
	}
	return e, nil
}

// PutEntity stores the mirror of one CRM record.
func (t *Tx) PutEntity(e Entity) error {
	return t.put(bucketEntities, entityKey(e.ConnectionID, e.EntityType, e.EntityID), e)
}

// ConnectionEntities calls fn for each mirrored record of a connection until fn returns false.
func (t *Tx) ConnectionEntities(connectionID string, fn func(Entity) bool) error {
	var err error
	t.scanPrefix(bucketEntities, key(connectionID, ""), func(_, v []byte) bool {
		var e Entity
		if err = decode(v, &e); err != nil {
			return false
		}
		return fn(e)
	})
	return err
}

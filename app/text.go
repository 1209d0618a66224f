package app

import (
	"strings"

	"github.com/referralpulse/referralpulse/store"
)

func quoteName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return "'" + name + "'"
}

func entityRef(e store.Entity) *store.EntityRef {
	return &store.EntityRef{
		Provider: e.Provider, ConnectionID: e.ConnectionID,
		EntityType: e.EntityType, EntityID: e.EntityID, Name: e.Name,
	}
}

func displayName(u store.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

func displayPartner(p store.Partner) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Email
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return "there"
}

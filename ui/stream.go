package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// streamHeartbeat keeps proxies from closing an idle event stream.
const streamHeartbeat = 20 * time.Second

// events streams the user's notifications and referral updates as
// Server-Sent Events until the client goes away or the server stops.
func (s *Server) events(c *fiber.Ctx) error {
	user := currentUser(c)
	ch, cancel := s.App.Hub.Subscribe(user.ID)
	done := s.done

	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderConnection, "keep-alive")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer cancel()
		ticker := time.NewTicker(streamHeartbeat)
		defer ticker.Stop()

		fmt.Fprint(w, ": connected\n\n")
		if w.Flush() != nil {
			return
		}
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				fmt.Fprint(w, ": ping\n\n")
			case ev := <-ch:
				data, err := json.Marshal(ev.Data)
				if err != nil {
					s.log.Error().Err(err).Str("user_id", user.ID).Msg("encode live event failed")
					continue
				}
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, data)
			}
			if w.Flush() != nil {
				return
			}
		}
	}))
	return nil
}

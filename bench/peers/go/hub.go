package main

// The classic gorilla hub (the chat example's shape): one goroutine owns the room table, every
// client has one writer goroutine draining a bounded send channel, and a client whose channel is
// full is dropped rather than allowed to block the hub.

type outbound struct {
	room    string
	message []byte
}

type membership struct {
	room   string
	client *client
}

type hub struct {
	rooms      map[string]map[*client]bool
	broadcast  chan outbound
	register   chan membership
	unregister chan membership
}

func newHub() *hub {
	return &hub{
		rooms:      make(map[string]map[*client]bool),
		broadcast:  make(chan outbound, 256),
		register:   make(chan membership),
		unregister: make(chan membership),
	}
}

func (h *hub) run() {
	for {
		select {
		case m := <-h.register:
			members := h.rooms[m.room]
			if members == nil {
				members = make(map[*client]bool)
				h.rooms[m.room] = members
			}
			members[m.client] = true
		case m := <-h.unregister:
			if members := h.rooms[m.room]; members != nil && members[m.client] {
				delete(members, m.client)
				close(m.client.send)
				if len(members) == 0 {
					delete(h.rooms, m.room)
				}
			}
		case out := <-h.broadcast:
			members := h.rooms[out.room]
			for c := range members {
				select {
				case c.send <- out.message:
				default:
					// A full queue means a slow client: drop it, as the gorilla example does.
					close(c.send)
					delete(members, c)
				}
			}
			if members != nil && len(members) == 0 {
				delete(h.rooms, out.room)
			}
		}
	}
}

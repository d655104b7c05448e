package main

import (
	"log"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// Time allowed to write one message to the peer.
	writeWait = 10 * time.Second
	// Largest message accepted from a client; the benchmark's are a few hundred bytes.
	maxMessageSize = 64 * 1024
	// Frames queued per client before it counts as slow; matches the other peers' bound.
	sendQueue = 4096
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	CheckOrigin:     func(r *http.Request) bool { return true },
}

type client struct {
	hub  *hub
	room string
	conn *websocket.Conn
	send chan []byte
}

// readPump owns the connection's life: it registers, reads until the peer goes, then unregisters.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- membership{c.room, c}
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	for {
		kind, message, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		if kind == websocket.TextMessage {
			c.hub.broadcast <- outbound{c.room, message}
		}
	}
}

// writePump is the only writer of the socket: one frame per message, no batching.
func (c *client) writePump() {
	defer c.conn.Close()
	for message := range c.send {
		c.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.conn.WriteMessage(websocket.TextMessage, message); err != nil {
			return
		}
	}
	c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

func serveWs(h *hub, w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if room == "" {
		http.Error(w, "room required", http.StatusBadRequest)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Println(err)
		return
	}
	c := &client{hub: h, room: room, conn: conn, send: make(chan []byte, sendQueue)}
	h.register <- membership{room, c}
	go c.writePump()
	go c.readPump()
}

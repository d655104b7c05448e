// Command gohub is the Go peer of the Switchboard comparison (docs/benchmarks.md): GET /ws?room=R
// joins room R, and every text frame a member sends goes to every member, the sender included.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	h := newHub()
	go h.run()
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) { serveWs(h, w, r) })
	log.Fatal(http.ListenAndServe(*addr, nil))
}

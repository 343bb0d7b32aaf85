// The live stream (GET /api/stream, Server-Sent Events) with the session cookie.
//
// live(handlers, {url, onResync}) opens it and calls handlers[eventType](data, event)
// for each event; the page's #live-status line shows whether it is connected. The
// browser reconnects by itself (sending Last-Event-ID, so nothing is missed); when
// the server cannot resume, it sends stream.resync and onResync reloads what it shows.
// A stream refused (session expired) sends the member to the login page.
// Returns {close()}.

import { get, loginAgain } from "./api.js";
import { t } from "./dom.js";

function setStatus(state) {
  const line = document.getElementById("live-status");
  if (!line) return;
  line.hidden = false;
  line.dataset.state = state;
  line.textContent = t(`js.live.${state}`);
}

export function live(handlers, { url = "/api/stream", onResync = null } = {}) {
  let source = null;
  let retry = null;
  let closed = false;

  const open = () => {
    setStatus("connecting");
    source = new EventSource(url);
    source.addEventListener("open", () => setStatus("live"));
    source.addEventListener("error", async () => {
      if (closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        setStatus("reconnecting");
        return;
      }
      // CLOSED: the server refused the stream; find out whether the session ended.
      setStatus("offline");
      try {
        await get("/api/me");  // a 401 sends the member to the login page
      } catch {
        // no answer: try again below
      }
      retry = window.setTimeout(open, 5000);
    });
    for (const [type, handler] of Object.entries(handlers)) {
      source.addEventListener(type, (event) => {
        let data = {};
        try {
          data = JSON.parse(event.data || "{}");
        } catch {
          return;
        }
        handler(data, event);
      });
    }
    source.addEventListener("stream.resync", () => onResync?.());
    source.addEventListener("stream.closed", (event) => {
      const reason = JSON.parse(event.data || "{}").reason;
      source.close();
      if (reason === "token_expired") loginAgain();
      else if (!closed) retry = window.setTimeout(open, 3000);
    });
  };

  open();
  return {
    close() {
      closed = true;
      window.clearTimeout(retry);
      source?.close();
    },
  };
}

// The page's only script.

// Words come from the page (data-msg-* on <body>, base.html), in the manager's
// language; the English here is only for a page without them.
function words(name, fallback) {
  return document.body?.dataset[name] || fallback;
}

// htmx requests carry the CSRF token the page was served with.
// (Forms also send it as a hidden field, so they work without JavaScript.)
document.addEventListener("htmx:config:request", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.ctx.request.headers["X-CSRFToken"] = meta.content;
  }
});

// htmx 4 swaps 4xx/5xx answers like any other, into the row or form the request came
// from. The portal's own error answers say where they go (HX-Retarget to #alerts, or
// a form with its errors) and carry X-Portal-Answer (portal/errors.py). Anything else
// — gunicorn's own 400/414 page, the router's or a proxy's 502 — must not replace a
// row, so it is dropped here and a plain message shown instead. This is the last
// event before htmx applies HX-Retarget and swaps; cancelling it ends the request
// there (and htmx still re-enables the buttons it disabled).
document.addEventListener("htmx:after:request", (event) => {
  const { response, hx } = event.detail.ctx;
  if (response.status >= 400 && !hx.retarget && !response.headers.has("X-Portal-Answer")) {
    event.preventDefault();
    showAlert(
      words(
        "msgBadAnswer",
        "The portal did not answer properly, so this may not have been done. " +
          "Reload the page to see what was saved before you try again.",
      ),
    );
  }
});

// No answer at all (the network is down, or the request timed out): htmx swaps
// nothing, but the manager must know it did not work.
document.addEventListener("htmx:error", (event) => {
  const ctx = event.detail.ctx;
  if (ctx && !ctx.response) {
    showAlert(
      words(
        "msgUnreachable",
        "The portal could not be reached, so this may not have been done. " +
          "Check the connection, then reload the page to see what was saved.",
      ),
    );
  }
});

// A message is about the last thing tried: the next request makes it stale.
document.addEventListener("htmx:before:request", () => {
  document.getElementById("alerts")?.replaceChildren();
});

// As the portal's own messages are shown: in #alerts (role="alert"), and focused, as
// htmx focuses their autofocus, so the keyboard's place is the message, not <body>.
function showAlert(text) {
  const area = document.getElementById("alerts");
  if (!area) return;
  const message = document.createElement("p");
  message.className = "alert";
  message.tabIndex = -1;
  message.textContent = text;
  area.replaceChildren(message);
  message.focus();
}

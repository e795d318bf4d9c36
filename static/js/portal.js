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

// As the portal's own messages are shown: in #alerts, and focused (as htmx focuses
// their autofocus), so the keyboard's place is the message, not <body>, and a screen
// reader reads it, once.
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

// -- While a form's request runs ----------------------------------------------------------
// The form says what is happening: its button reads what it does ("Recording…",
// "Saving…": the button's data-busy-label), the form is aria-busy, and its fields stay
// as they were: readable, not greyed, never disabled (a disabled field drops the focus
// to <body> and takes nothing typed). A second submit meanwhile is dropped (the form's
// hx-sync="this:drop"). A form marked data-busy-readonly (the row editor, whose answer
// is the row, not a form) takes no typing while it waits.
//
// What is typed into the create form meanwhile is kept. The rule: a field changed
// since the request left keeps its new value in the form that answers; every other
// field shows what the answer says (the next visit's empty Contact, the errors). The
// manager may start on the next customer while Leat is slow: the answer must not wipe
// it, nor take the focus from the field they are typing in.
document.addEventListener("htmx:before:request", (event) => {
  const form = event.detail.ctx.sourceElement;
  if (!(form instanceof HTMLFormElement)) return;
  const button = form.querySelector("[data-busy-label]");
  if (!button) return;
  const label = button instanceof HTMLInputElement ? "value" : "textContent";
  event.detail.ctx.busy = { form, button, label, idle: button[label], sent: fieldValues(form) };
  button[label] = button.dataset.busyLabel;
  button.setAttribute("aria-disabled", "true");
  form.setAttribute("aria-busy", "true");
  if (form.hasAttribute("data-busy-readonly")) {
    for (const field of textFields(form)) field.readOnly = true;
  }
});

// Before the answer replaces the form: what was typed since the request left, and
// where the keyboard is.
document.addEventListener("htmx:before:swap", (event) => {
  const busy = event.detail.ctx.busy;
  if (!busy) return;
  const now = fieldValues(busy.form);
  busy.changed = new Map([...now].filter(([name, value]) => busy.sent.get(name) !== value));
  const active = document.activeElement;
  if (busy.changed.size && active?.form === busy.form && active.name && "value" in active) {
    busy.focus = { name: active.name, start: active.selectionStart, end: active.selectionEnd };
  }
  busy.place = busy.form.id || busy.form.closest("[id]")?.id;
});

// After it: those fields get their new values back in the form that answered, and the
// field being typed in keeps the keyboard.
document.addEventListener("htmx:after:swap", (event) => {
  const busy = event.detail.ctx.busy;
  if (busy?.changed?.size) {
    const place = document.getElementById(busy.place);
    const form = place?.matches("form") ? place : place?.querySelector("form");
    for (const [name, value] of busy.changed) {
      const field = form?.elements.namedItem(name);
      if (!(field instanceof Element)) continue;
      if (field.type === "checkbox") field.checked = value === "on";
      else field.value = value;
      // A Shop chosen meanwhile: its suggestions follow it, as when chosen by hand.
      if (field instanceof HTMLSelectElement) field.dispatchEvent(new Event("change"));
    }
    // Only when the form itself was answered: an error said in #alerts keeps the focus
    // it took (the message), and the form, untouched, keeps what was typed anyway.
    const replaced = !busy.form.isConnected;
    const field = replaced && busy.focus && form?.elements.namedItem(busy.focus.name);
    if (field instanceof Element) {
      field.focus();
      try {
        field.setSelectionRange(busy.focus.start, busy.focus.end);
      } catch {
        // a select has no selection
      }
    }
  }
  showErrorsInTitle();
});

// Whatever the answer (or none), a form still on the page is as it was before.
document.addEventListener("htmx:finally:request", (event) => {
  const busy = event.detail.ctx.busy;
  if (!busy) return;
  busy.button[busy.label] = busy.idle;
  busy.button.removeAttribute("aria-disabled");
  busy.form.removeAttribute("aria-busy");
  if (busy.form.hasAttribute("data-busy-readonly")) {
    for (const field of textFields(busy.form)) field.readOnly = false;
  }
});

function textFields(form) {
  return form.querySelectorAll("input[type=text], input:not([type]), textarea");
}

// The values a manager can change, by field name (a checkbox as "on" or "").
function fieldValues(form) {
  const values = new Map();
  for (const field of form.elements) {
    if (!field.name || /^(hidden|submit|button|reset)$/.test(field.type)) continue;
    values.set(field.name, field.type === "checkbox" ? (field.checked ? "on" : "") : field.value);
  }
  return values;
}

// -- Errors ------------------------------------------------------------------------------
// A link in an error summary moves the keyboard to its field, with the field's label
// in view (a plain #link would scroll the label out of sight, and not focus a select).
document.addEventListener("click", (event) => {
  const link = event.target.closest?.(".error-summary a[href^='#']");
  const field = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (!field) return;
  event.preventDefault();
  (field.closest(".field") || field).scrollIntoView({ block: "start" });
  field.focus({ preventScroll: true });
});

// While a form shows errors the page's title begins with "Error: " (the words are the
// title's data-error-prefix, set in base.html, as the server's whole pages say them).
function showErrorsInTitle() {
  const prefix = document.querySelector("title")?.dataset.errorPrefix;
  if (!prefix) return;
  const shown = document.title.startsWith(prefix);
  // A form's error summary, or what to correct in the search (_search_answer.html).
  const errors = document.querySelector(".error-summary, #visit-results .form-errors") !== null;
  if (errors && !shown) document.title = prefix + document.title;
  if (!errors && shown) document.title = document.title.slice(prefix.length);
}

// -- The row editor ------------------------------------------------------------------------
// Escape cancels it, as its Cancel button does (the row comes back, its Edit focused);
// not while a save is under way.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.isComposing || event.defaultPrevented) return;
  const editor = event.target.closest?.("form.row-editor");
  if (!editor || editor.getAttribute("aria-busy") === "true") return;
  event.preventDefault();
  editor.querySelector("button.cancel")?.click();
});

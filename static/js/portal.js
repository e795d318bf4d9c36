// The page's only script: htmx requests carry the CSRF token the page was served with.
// (Forms also send it as a hidden field, so they work without JavaScript.)
document.addEventListener("htmx:config:request", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.ctx.request.headers["X-CSRFToken"] = meta.content;
  }
});

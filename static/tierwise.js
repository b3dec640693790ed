// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  // The language menu switches as soon as a language is chosen (without scripts, its button does).
  document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});

// A form with data-confirm asks before it is sent: publishing or discarding rules, revoking a token,
// deleting a schedule or a saved list, switching a tenant off. Without scripts it is sent at once.
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

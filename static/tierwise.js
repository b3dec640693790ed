// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  // The language menu switches as soon as a language is chosen (without scripts, its button does).
  document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});

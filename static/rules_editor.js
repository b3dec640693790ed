/*
 * The rule pages' small helper (no build step, no dependencies; a form's data-confirm is tierwise.js's):
 * - the rule editor checks the rule set as the admin types: it posts the form's
 *   definition as JSON to the check endpoint and marks the input the error names.
 * Without JavaScript the pages work the same; errors then show when the draft is saved.
 */
(function () {
  "use strict";

  var editor = document.getElementById("rule-editor");
  if (!editor) {
    return;
  }
  var status = document.getElementById("check-status");
  var INPUT = /^d(\d+)\.(?:t(\d+)\.)?([a-z_]+)$/;
  var DELAY_MS = 400;
  var timer = null;
  var latest = 0;

  // The same shape as tierwise.tenants.rules.editing.definition_from_form builds on the server.
  function definition() {
    var dimensions = [];
    Array.prototype.forEach.call(editor.elements, function (input) {
      var match = INPUT.exec(input.name || "");
      if (!match) {
        return;
      }
      var d = +match[1];
      var dimension = dimensions[d] = dimensions[d] || {fields: {}, tiers: []};
      if (match[2] === undefined) {
        dimension.fields[match[3]] = input.value;
      } else {
        var t = +match[2];
        (dimension.tiers[t] = dimension.tiers[t] || {})[match[3]] = input.value;
      }
    });
    return {
      value_measure: editor.elements.value_measure ? editor.elements.value_measure.value : "",
      dimensions: dimensions.filter(Boolean).map(toDimension)
    };
  }

  function toDimension(dimension) {
    var f = dimension.fields;
    var result = {code: (f.code || "").trim(), label_en: f.label_en || "", label_zh: f.label_zh || "",
                  description: f.description || ""};
    var evaluations = number(f.evaluations, 1, /^-?\d+$/);
    var margin = number(f.margin, 0, /^-?(\d+\.?\d*|\.\d+)$/);
    if (evaluations !== 1 || margin !== 0) {
      result.hysteresis = {evaluations: evaluations, margin: margin};
    }
    var tiers = dimension.tiers.filter(Boolean);
    result.tiers = tiers.map(function (tier, index) {
      var out = {code: (tier.code || "").trim(), label_en: tier.label_en || "", label_zh: tier.label_zh || ""};
      if (tier.colour) {
        out.colour = tier.colour.trim();
      }
      if (index === tiers.length - 1) {
        out.fallback = true;
      } else {
        out.rule = tier.rule || "";
      }
      return out;
    });
    return result;
  }

  // A number as typed, the default for nothing, or the text itself (the server says what is wrong with it).
  function number(text, fallback, pattern) {
    text = (text || "").trim();
    if (!text) {
      return fallback;
    }
    return pattern.test(text) ? Number(text) : text;
  }

  function csrfToken() {
    var field = editor.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function clearMarks() {
    Array.prototype.forEach.call(editor.querySelectorAll("[data-live-error]"), function (node) {
      node.parentNode.removeChild(node);
    });
    Array.prototype.forEach.call(editor.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(editor.querySelectorAll(".has-error"), function (node) {
      node.classList.remove("has-error");
    });
    Array.prototype.forEach.call(editor.querySelectorAll("[data-server-error]"), function (node) {
      node.hidden = true;  // a fresh check replaces what the last save said
    });
  }

  function mark(result) {
    var target = result.input ? document.getElementById("input-" + result.input) : null;
    var box = document.createElement("div");
    box.className = "error-detail";
    box.setAttribute("data-live-error", "");
    var message = document.createElement("p");
    message.className = "error";
    message.textContent = (target ? "" : (result.field ? result.field + ": " : "")) + result.message;
    box.appendChild(message);
    if (result.pointer) {
      var pointer = document.createElement("pre");
      pointer.className = "pointer";
      pointer.textContent = result.pointer;
      box.appendChild(pointer);
    }
    if (target && target.tagName !== "SECTION") {
      target.setAttribute("aria-invalid", "true");
      target.parentNode.classList.add("has-error");
      target.parentNode.appendChild(box);
    } else if (target) {
      target.classList.add("has-error");
      target.insertBefore(box, target.children[1] || null);
    } else if (status) {
      status.parentNode.appendChild(box);
    }
  }

  function check() {
    var request = ++latest;
    if (status) {
      status.textContent = status.getAttribute("data-checking");
    }
    fetch(editor.getAttribute("data-check-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(definition())
    }).then(function (response) {
      return response.headers.get("Content-Type").indexOf("json") >= 0 ? response.json() : null;
    }).then(function (result) {
      if (!result || request !== latest) {
        return;  // an older answer, or no answer we can read: the save will say
      }
      clearMarks();
      if (status) {
        status.textContent = status.getAttribute(result.ok ? "data-ok" : "data-problem");
      }
      if (!result.ok) {
        mark(result);
      }
    }).catch(function () {
      if (status && request === latest) {
        status.textContent = "";
      }
    });
  }

  editor.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, DELAY_MS);
  });
})();

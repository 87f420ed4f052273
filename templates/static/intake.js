// Progressive enhancement for the intake form: ask the server (which evaluates the rules'
// own conditions) which questions apply, hide the others, and show a live preview of the
// scores and triage. Without this script every question is shown and the server ignores
// answers to questions that do not apply.
(function () {
  "use strict";
  var form = document.getElementById("intake");
  var panel = document.getElementById("preview");
  // A chosen file fills the box it names: the form sends text, so files are read here.
  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-fills]"), function (input) {
    input.addEventListener("change", function () {
      var target = document.getElementById(input.getAttribute("data-fills"));
      var file = input.files && input.files[0];
      if (!target || !file || !window.FileReader) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        target.value = String(reader.result);
        target.dispatchEvent(new Event("input", { bubbles: true }));
      };
      reader.readAsText(file);
    });
  });
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var timer = null;
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  // Each hint as text nodes only (never HTML): "words" in place suggests label — status.
  function showHints(hints) {
    var list = document.getElementById("pv-hints");
    if (!list) { return; }
    var d = list.dataset;
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (hints.length === 0) {
      var none = document.createElement("li");
      none.textContent = d.none;
      list.appendChild(none);
      return;
    }
    hints.forEach(function (h) {
      var li = document.createElement("li");
      var words = document.createElement("q");
      words.textContent = h.words;
      li.appendChild(words);
      li.appendChild(document.createTextNode(" (" + d["in"] + " " + h.place + ") " + d.suggests + " " + h.suggests + " — "));
      var status = document.createElement("strong");
      status.textContent = h.contradicts ? d.contradicts : (h.declared ? d.declared : d.undeclared);
      li.appendChild(status);
      list.appendChild(li);
    });
  }
  function refresh() {
    var body = new URLSearchParams(new FormData(form));
    fetch("/use-cases/preview", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (p) {
      if (!p) { return; }
      var questions = form.querySelectorAll("[data-conditional]");
      for (var i = 0; i < questions.length; i++) {
        var q = questions[i];
        var shown = p.visible[q.getAttribute("data-question")] !== false;
        q.hidden = !shown;
      }
      if (panel) {
        panel.hidden = false;
        set("pv-tier", p.tier);
        var badge = document.getElementById("pv-tier");
        if (badge) { badge.className = "badge tier-" + p.tier_code; }
        var provisional = document.getElementById("pv-provisional");
        if (provisional) { provisional.hidden = p.missing === 0; }
        set("pv-route", p.route);
        set("pv-value", p.business_value);
        set("pv-feasibility", p.feasibility);
        set("pv-readiness", p.readiness);
        set("pv-priority", p.priority);
        set("pv-missing", p.missing_text);
        (p.progress || []).forEach(function (s) {
          var el = document.getElementById("pg-" + s[0]);
          if (el) { el.textContent = s[1]; el.className = s[2] ? "progress complete" : "progress"; }
        });
        showHints(p.hints || []);
      }
    }).catch(function () { /* the form works without the preview */ });
  }
  function later(ms) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, ms);
  }
  // "None" is exclusive: ticking it clears the other options of its question, and ticking
  // another option clears it (the server refuses the two together).
  function exclusive(box) {
    if (box.type !== "checkbox" || !box.checked) { return; }
    var all = form.querySelectorAll("input[type=checkbox]");
    for (var i = 0; i < all.length; i++) {
      var other = all[i];
      if (other !== box && other.name === box.name && (box.value === "none" || other.value === "none")) {
        other.checked = false;
      }
    }
  }
  form.addEventListener("change", function (e) {
    if (e.target) { exclusive(e.target); }
    later(150);
  });
  // Hints follow the text as it is typed, after a pause.
  form.addEventListener("input", function (e) {
    if (e.target && (e.target.tagName === "TEXTAREA" || e.target.type === "text")) { later(500); }
  });
  refresh();
}());

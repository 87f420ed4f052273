// Progressive enhancement for the intake form: ask the server (which evaluates the rules'
// own conditions) which questions apply, hide the others, and show a live preview of the
// scores and triage. Without this script every question is shown and the server ignores
// answers to questions that do not apply.
(function () {
  "use strict";
  var form = document.getElementById("intake");
  var panel = document.getElementById("preview");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var timer = null;
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
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
        set("pv-route", p.route);
        set("pv-value", p.business_value);
        set("pv-feasibility", p.feasibility);
        set("pv-readiness", p.readiness);
        set("pv-priority", p.priority);
        set("pv-missing", p.missing);
      }
    }).catch(function () { /* the form works without the preview */ });
  }
  form.addEventListener("change", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 150);
  });
  refresh();
}());

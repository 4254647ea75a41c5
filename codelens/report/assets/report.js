"use strict";
// Filters of the codelens HTML report. The view lives in the address's fragment (#rule=CL100&severity=high),
// so a reload or a shared link shows the same findings; a fragment without "=" is an anchor (a finding,
// a function, a clone class) and leaves the filters alone.
(function () {
  const rule = document.getElementById("f-rule");
  const boxes = Array.from(document.querySelectorAll('#filters input[name="severity"]'));
  const confidence = document.getElementById("f-confidence");
  const confidenceValue = document.getElementById("f-confidence-value");
  const path = document.getElementById("f-path");
  const findings = Array.from(document.querySelectorAll(".finding"));
  const units = Array.from(document.querySelectorAll(".unit"));
  const classes = Array.from(document.querySelectorAll(".clone-class"));
  const shown = document.getElementById("shown-count");
  const classPaths = new Map(classes.map((c) => [c, JSON.parse(c.dataset.paths)]));

  function current() {
    return {
      rule: rule.value,
      severity: boxes.filter((b) => b.checked).map((b) => b.value),
      confidence: Number(confidence.value) || 0,
      path: path.value.trim(),
    };
  }

  function matches(view, item, paths) {
    const needle = view.path.toLowerCase();
    return (!view.rule || view.rule === item.dataset.code)
      && view.severity.includes(item.dataset.severity)
      && Number(item.dataset.confidence) + 1e-9 >= view.confidence
      && (!needle || paths.some((p) => p.toLowerCase().includes(needle)));
  }

  function apply(view) {
    let count = 0;
    for (const item of findings) {
      item.hidden = !matches(view, item, [item.dataset.path]);
      if (!item.hidden) count += 1;
    }
    for (const unit of units) unit.hidden = !unit.querySelector(".finding:not([hidden])");
    for (const group of classes) group.hidden = !matches(view, group, classPaths.get(group));
    shown.textContent = String(count);
    confidenceValue.textContent = view.confidence.toFixed(2);
  }

  function fragment(view) {
    const params = new URLSearchParams();
    if (view.rule) params.set("rule", view.rule);
    if (view.severity.length !== boxes.length) params.set("severity", view.severity.join(","));
    if (view.confidence > 0) params.set("confidence", String(view.confidence));
    if (view.path) params.set("path", view.path);
    return params.toString();
  }

  function read(hash) {
    const params = new URLSearchParams(hash);
    const wanted = params.get("rule") || "";
    rule.value = Array.from(rule.options).some((o) => o.value === wanted) ? wanted : "";
    const severity = params.has("severity") ? params.get("severity").split(",") : boxes.map((b) => b.value);
    for (const box of boxes) box.checked = severity.includes(box.value);
    confidence.value = params.get("confidence") || "0";
    path.value = params.get("path") || "";
  }

  function fromLocation() {
    const hash = location.hash.slice(1);
    if (hash.includes("=")) {
      read(hash);
    } else if (hash) {
      let id = hash;
      try {
        id = decodeURIComponent(hash);
      } catch (error) {
        // a malformed link: look the fragment up as it is
      }
      const target = document.getElementById(id);
      if (target && (target.hidden || target.closest("[hidden]"))) read("");  // show what the link points at
    } else {
      read("");
    }
    apply(current());
  }

  function changed() {
    const view = current();
    apply(view);
    const hash = fragment(view);
    const address = hash ? "#" + hash : location.pathname + location.search;
    try {
      history.replaceState(null, "", address);
    } catch (error) {
      location.replace(hash ? "#" + hash : "#");
    }
  }

  for (const control of [rule, confidence, path, ...boxes]) {
    control.addEventListener("input", changed);
    control.addEventListener("change", changed);
  }
  document.getElementById("f-reset").addEventListener("click", () => { read(""); changed(); });
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("hashchange", fromLocation);
  fromLocation();
})();

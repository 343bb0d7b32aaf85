// The configuration page: what runs (GET /api/admin/config), the warnings, the errors
// of the last refused reload as file:line:column: field: message, and the Reload
// button (POST /api/admin/reload). The state is fetched again after a reload, every
// 10 s (a file change or SIGHUP may reload too) and when the tab comes back.

import { ApiError, get, post } from "./api.js";
import { announce, clear, el, hideError, showError, t } from "./dom.js";
import { fullTime, moment, number } from "./installer-common.js";

const COUNTS = ["bridges", "devices", "rules", "places", "members"];
const REFRESH_MS = 10000;

const $ = (id) => document.getElementById(id);
const stateBox = $("config-state");
const error = $("config-error");
const button = $("reload");
const result = $("reload-result");
const buttonLabel = button.textContent;
let shown = "";

function issue(item) {
  const parts = [];
  if (item.file) {
    const where = [item.file, item.line, item.column].filter((part) => part !== null).join(":");
    parts.push(el("code", { class: "issue__where", text: where }), ": ");
  }
  if (item.field) parts.push(el("span", { class: "issue__field", text: item.field }), ": ");
  parts.push(el("span", { class: "issue__message", text: item.message }));
  return el("li", { class: "issue", dataset: { file: item.file || "" } }, parts);
}

function fillList(list, items) {
  clear(list).append(...items.map(issue));
}

function lastReload(reload) {
  if (!reload) return t("installer.js.last.none");
  const values = { at: fullTime(reload.at), trigger: reload.trigger };
  return t(reload.ok ? "installer.js.last.ok" : "installer.js.last.refused", values);
}

function render(config) {
  $("config-root").textContent = config.root;
  clear($("config-loaded-at")).append(moment(config.loaded_at));
  $("config-last-reload").textContent = lastReload(config.last_reload);
  clear($("config-counts")).append(...COUNTS.flatMap((name) => [
    el("dt", { text: t(`installer.js.count.${name}`) }),
    el("dd", { dataset: { count: name }, text: number(config.counts[name]) }),
  ]));
  clear($("config-files")).append(...config.files.map((file) => el("li", {}, el("code", { text: file }))));

  fillList($("config-warnings"), config.warnings);
  const none = $("config-no-warnings");
  none.textContent = t("installer.js.warnings.none");
  none.hidden = config.warnings.length > 0;
  $("config-warnings-intro").hidden = config.warnings.length === 0;

  const failure = config.last_failure;
  const section = $("failure");
  if (!failure) {
    section.dataset.state = "none";
    $("failure-note").textContent = t("installer.js.failure.none");
    fillList($("failure-errors"), []);
    fillList($("failure-warnings"), []);
  } else {
    section.dataset.state = failure.stale ? "stale" : "current";
    const values = { at: fullTime(failure.at), trigger: failure.trigger };
    $("failure-note").textContent = t(failure.stale ? "installer.js.failure.stale"
      : "installer.js.failure.current", values);
    fillList($("failure-errors"), failure.errors);
    fillList($("failure-warnings"), failure.warnings);
  }
  stateBox.setAttribute("aria-busy", "false");
}

async function refresh() {
  try {
    const config = await get("/api/admin/config");
    hideError(error);
    const text = JSON.stringify(config);
    if (text !== shown) {  // unchanged: leave the page alone (a reader may be in a list)
      shown = text;
      render(config);
    }
    return config;
  } catch (failure) {
    showError(error, failure);
    stateBox.setAttribute("aria-busy", "false");
    return null;
  }
}

function showResult(kind, text) {
  result.className = `alert-box alert-box--${kind}`;
  result.setAttribute("role", kind === "error" ? "alert" : "status");
  result.dataset.outcome = kind;
  result.textContent = text;
  result.hidden = false;
  result.focus();
  announce(text, { assertive: kind === "error" });
}

button.addEventListener("click", async () => {
  button.disabled = true;
  result.hidden = true;
  button.textContent = t("installer.js.reload.running");
  try {
    let refused = null;
    try {
      await post("/api/admin/reload");
    } catch (failure) {
      if (!(failure instanceof ApiError) || failure.status !== 422) throw failure;
      refused = failure;
    }
    const config = await refresh();
    if (refused) {
      const count = config?.last_failure?.errors.length ?? refused.errors.length;
      showResult("error", t(`installer.js.reload.refused.${count === 1 ? "one" : "many"}`, { count }));
    } else if (config) {
      showResult("ok", t("installer.js.reload.ok", {
        bridges: config.counts.bridges, devices: config.counts.devices, rules: config.counts.rules,
      }));
    }
  } catch (failure) {
    showError(error, failure);
  } finally {
    button.disabled = false;
    button.textContent = buttonLabel;
  }
});

let timer = null;
function schedule() {
  window.clearTimeout(timer);
  timer = window.setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, REFRESH_MS);
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

refresh().then(schedule);

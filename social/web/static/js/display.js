// The hall screen: the public board of GET /api/display/{token}, read again every
// refresh_seconds (the API says how often). No login, nothing private: the API only ever
// answers what anyone in the hall may read. A revoked or unknown link (404) clears the
// screen and says so; a lost connection keeps the last board and says since when.

import { get } from "./api.js";
import { el, formatDateTime, lang, t } from "./dom.js";

const board = document.getElementById("display-board");
const token = board.dataset.token;
const incidents = document.getElementById("incident-list");
const notices = document.getElementById("notice-list");
const updated = document.getElementById("display-updated");
const gone = document.getElementById("display-gone");
const clock = document.getElementById("display-clock");

const timeOnly = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
const today = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
const RETRY_SECONDS = 30;
let lastGood = null;

function incidentItem(incident) {
  const state = incident.acknowledged ? "handled" : "ongoing";
  return el("li", { class: `display-item display-incident display-incident--${incident.severity}`, dataset: { id: String(incident.id), severity: incident.severity, state } },
    el("p", { class: "display-item__badges" },
      el("span", { class: `display-badge display-badge--${incident.severity}`, text: t(`display.js.severity.${incident.severity}`) }),
      el("span", { class: `display-badge display-badge--${state}`, text: t(`display.js.${state}`) })),
    el("h3", { class: "display-item__title", text: incident.title }),
    el("p", { class: "display-item__meta", text: t("display.js.since", { time: formatDateTime(incident.since) }) }));
}

function noticeItem(notice) {
  return el("li", { class: `display-item display-notice${notice.pinned ? " display-notice--pinned" : ""}`, dataset: { id: String(notice.id) } },
    notice.pinned ? el("p", { class: "display-item__badges" }, el("span", { class: "display-badge display-badge--pinned", text: t("display.js.pinned") })) : null,
    el("h3", { class: "display-item__title", text: notice.title }),
    notice.body ? el("p", { class: "display-item__body", text: notice.body }) : null,
    notice.expires_at ? el("p", { class: "display-item__meta", text: t("display.js.until", { date: formatDateTime(notice.expires_at) }) }) : null);
}

function show(answer) {
  incidents.replaceChildren(...(answer.incidents.length
    ? answer.incidents.map(incidentItem)
    : [el("li", { class: "display-item display-item--none", text: t("display.js.no_incident") })]));
  notices.replaceChildren(...(answer.notices.length
    ? answer.notices.map(noticeItem)
    : [el("li", { class: "display-item display-item--none", text: t("display.js.no_notice") })]));
}

function showGone() {
  incidents.replaceChildren();
  notices.replaceChildren();
  board.hidden = true;
  gone.textContent = t("display.js.gone");
  gone.hidden = false;
  updated.textContent = "";
}

async function refresh() {
  let wait = RETRY_SECONDS;
  try {
    const answer = await get(`/api/display/${encodeURIComponent(token)}`);
    show(answer);
    lastGood = new Date();
    updated.textContent = t("display.js.updated", { time: timeOnly.format(lastGood) });
    updated.dataset.state = "ok";
    wait = answer.refresh_seconds;
  } catch (failure) {
    if (failure.status === 404) {
      showGone();
      return;  // a link never comes back: the screen needs a new one
    }
    updated.textContent = t("display.js.stale", { time: lastGood ? timeOnly.format(lastGood) : "—" });
    updated.dataset.state = "stale";
  } finally {
    board.setAttribute("aria-busy", "false");
  }
  window.setTimeout(refresh, wait * 1000);
}

function tick() {
  clock.textContent = today.format(new Date());
}

tick();
window.setInterval(tick, 15_000);
refresh();

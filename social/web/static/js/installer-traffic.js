// The live traffic page: messages per topic with who claims each one
// (GET /api/admin/traffic), the unclaimed sources (GET /api/gateway/unclaimed) and the
// dead letters (GET /api/gateway/dead-letters), polled every 2 s while the tab is
// visible and not paused. The filter and the order travel in the address (?contains=,
// ?order=), so a view can be shared or reloaded.

import { get } from "./api.js";
import { clear, el, hideError, showError, t } from "./dom.js";
import { ago, bytes, fullTime, moment, number } from "./installer-common.js";

const POLL_MS = 2000;
const LIMIT = 200;
const PREVIEW = 300;
const BADGES = {
  device: "badge--ok", bridge: "badge--info", unclaimed: "badge--warning",
  dead_letter: "badge--critical",
};

const $ = (id) => document.getElementById(id);
const controls = $("traffic-controls");
const contains = $("traffic-contains");
const order = $("traffic-order");
const pause = $("traffic-pause");
const error = $("traffic-error");
const table = $("traffic-table");
const rows = $("traffic-rows");
const summary = $("traffic-summary");
const empty = $("traffic-empty");
const unclaimedList = $("unclaimed-list");
const deadList = $("dead-list");

// The column titles, for the labelled cells of the phone layout.
const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent);

function preview(text) {
  const shown = text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text;
  return el("pre", { class: "payload" }, el("code", { text: shown }));
}

function claimCell(claim) {
  const badge = el("span", {
    class: `badge ${BADGES[claim.outcome] || "badge--muted"}`,
    dataset: { role: "outcome" },
    text: t(`installer.js.outcome.${claim.outcome}`),
  });
  let detail = null;
  if (claim.outcome === "device") {
    detail = t("installer.js.claim.device", { device: claim.device, bridge: claim.bridge });
  } else if (claim.outcome === "unclaimed" || claim.outcome === "foreign") {
    detail = t("installer.js.claim.source", { source: claim.source, bridge: claim.bridge });
  } else if (claim.reason) {
    detail = claim.reason;
  } else if (claim.bridge) {
    detail = claim.bridge;
  }
  return el("div", {}, badge,
    detail && el("span", { class: "traffic__detail", dataset: { role: "claim-detail" }, text: detail }));
}

function cell(index, content, className = null) {
  return el("td", { class: className, dataset: { label: headers[index] } }, content);
}

function topicRow(topic, now) {
  return el("tr", { dataset: { topic: topic.topic, outcome: topic.claim.outcome } },
    cell(0, el("span", { class: "traffic__topic", text: topic.topic })),
    cell(1, t("installer.js.per_minute", { count: number(topic.last_minute) }), "traffic__number"),
    cell(2, number(topic.total), "traffic__number"),
    cell(3, bytes(topic.last_size), "traffic__number"),
    cell(4, ago(topic.last_seen, now)),
    cell(5, claimCell(topic.claim)));
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.flatMap(([key, value]) => [
    el("dt", { text: t(`installer.js.field.${key}`) }), el("dd", {}, value),
  ]));
}

function unclaimedItem(item, now) {
  return el("li", { class: "card stack", dataset: { source: item.source, bridge: item.bridge } },
    el("h3", { class: "entry__title", text: item.source }),
    facts([
      ["bridge", item.bridge],
      ["topic", el("code", { text: item.topic })],
      ["first_seen", moment(item.first_seen)],
      ["last_seen", ago(item.last_seen, now)],
      ["count", number(item.count)],
    ]),
    el("p", { class: "installer-subtitle", text: t("installer.js.field.payload") }),
    preview(item.last_payload));
}

function deadItem(item) {
  return el("li", { class: "card stack", dataset: { topic: item.topic } },
    el("h3", { class: "entry__title", text: item.topic }),
    facts([
      ["reason", el("span", { class: "entry__reason", dataset: { role: "reason" }, text: item.reason })],
      ["at", moment(item.at)],
    ]),
    el("p", { class: "installer-subtitle", text: t("installer.js.field.dead_payload") }),
    preview(item.payload));
}

function fill(list, items, render, none) {
  clear(list);
  if (items.length === 0) list.append(el("li", { class: "muted", text: t(none) }));
  else list.append(...items.map(render));
  list.setAttribute("aria-busy", "false");
}

function render(traffic, unclaimed, dead) {
  const now = traffic.at;
  clear(rows).append(...traffic.topics.map((topic) => topicRow(topic, now)));
  table.setAttribute("aria-busy", "false");
  empty.hidden = traffic.topics.length > 0;
  empty.textContent = t("installer.js.no_topics");
  summary.textContent = t("installer.js.summary", {
    shown: number(traffic.topics.length), matching: number(traffic.matching),
    messages: number(traffic.messages), at: fullTime(now),
  });
  fill(unclaimedList, unclaimed.items, (item) => unclaimedItem(item, now), "installer.js.no_unclaimed");
  fill(deadList, [...dead.items].reverse(), deadItem, "installer.js.no_dead");
}

let timer = null;
let stopped = false;
let generation = 0;

async function refresh() {
  const asked = ++generation;
  try {
    const [traffic, unclaimed, dead] = await Promise.all([
      get("/api/admin/traffic", { order: order.value, contains: contains.value.trim(), limit: LIMIT }),
      get("/api/gateway/unclaimed"),
      get("/api/gateway/dead-letters", { limit: 50 }),
    ]);
    if (asked !== generation) return;  // a newer filter's answer is on its way
    hideError(error);
    render(traffic, unclaimed, dead);
  } catch (failure) {
    if (asked !== generation) return;
    showError(error, failure);
    if (failure.status === 403) stopped = true;  // the role is gone: polling will not help
  }
}

function schedule() {
  window.clearTimeout(timer);
  if (stopped) return;
  timer = window.setTimeout(async () => {
    if (!document.hidden && pause.getAttribute("aria-pressed") !== "true") await refresh();
    schedule();
  }, POLL_MS);
}

function keepInAddress() {
  const url = new URL(window.location.href);
  for (const [name, value] of [["contains", contains.value.trim()], ["order", order.value]]) {
    if (value && !(name === "order" && value === "recent")) url.searchParams.set(name, value);
    else url.searchParams.delete(name);
  }
  window.history.replaceState(null, "", url);
}

function changed() {
  keepInAddress();
  refresh().then(schedule);
}

let typing = null;
contains.addEventListener("input", () => {
  window.clearTimeout(typing);
  typing = window.setTimeout(changed, 250);
});
order.addEventListener("change", changed);
controls.addEventListener("submit", (event) => {
  event.preventDefault();
  changed();
});
pause.addEventListener("click", () => {
  const paused = pause.getAttribute("aria-pressed") !== "true";
  pause.setAttribute("aria-pressed", String(paused));
  if (paused) summary.textContent = t("installer.js.paused");
  else changed();
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && pause.getAttribute("aria-pressed") !== "true") refresh();
});

refresh().then(schedule);

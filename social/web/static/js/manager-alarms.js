// The live alarm board: GET /api/alarms (the state filter goes to the API, building and
// severity are narrowed here), kept live by the alarm events of /api/stream, and the
// acknowledgement with a note (POST /api/alarms/{id}/acknowledge).
//
// A card is updated in place when its alarm changes, so a note being typed survives an
// update of another alarm (or of the same one: "still happening" pressed by a resident).

import { post, get } from "./api.js";
import { live } from "./live.js";
import { announce, el, formatDateTime, hideError, showError, t } from "./dom.js";
import { fact, formatTime, plural, severityBadge, stateBadge } from "./manager-common.js";

const filters = document.getElementById("alarm-filters");
const list = document.getElementById("alarm-list");
const empty = document.getElementById("alarm-empty");
const count = document.getElementById("alarm-count");
const errorBox = document.getElementById("alarm-error");

const cards = new Map();   // alarm id → {item: <li>, article, alarm}
const known = new Map();   // alarm id → state, of every alarm shown since the page opened
let loaded = false;

const field = (name) => filters.elements.namedItem(name);

function chosen() {
  return { building: field("building").value, severity: field("severity").value, state: field("state").value };
}

function matches(alarm, wanted) {
  return (!wanted.building || alarm.building_id === wanted.building)
    && (!wanted.severity || alarm.severity === wanted.severity);
}

// -- one alarm ------------------------------------------------------------------------

function stillHappening(alarm) {
  const parts = [plural("manager.js.alarms.still.count", alarm.still_happening)];
  if (alarm.still_happening_last_at) {
    parts.push(t("manager.js.alarms.still.last", { time: formatTime(alarm.still_happening_last_at) }));
  }
  return el("span", { dataset: { role: "still", count: String(alarm.still_happening) } }, parts.join(" · "));
}

function summary(alarm) {
  const facts = [
    fact(t("manager.js.alarms.place"), alarm.place.name),
    fact(t("manager.js.alarms.device"),
      el("a", { href: `/manager/devices/${encodeURIComponent(alarm.device_id)}`, text: alarm.device_id })),
    fact(t("manager.js.alarms.raised"),
      el("time", { datetime: alarm.raised_at, text: formatDateTime(alarm.raised_at) })),
    fact(t("manager.js.alarms.still"), stillHappening(alarm)),
  ];
  if (alarm.acknowledged_at) {
    facts.push(fact(t("manager.js.alarms.acknowledged"), el("span", { dataset: { role: "acknowledged" } },
      t("manager.js.alarms.acknowledged.by", {
        name: alarm.acknowledged_by?.display_name || t("manager.js.empty_value"),
        time: formatDateTime(alarm.acknowledged_at),
      }))));
    if (alarm.ack_note) facts.push(fact(t("manager.js.alarms.note"), el("span", { dataset: { role: "note" }, text: alarm.ack_note })));
  }
  if (alarm.cleared_at) {
    facts.push(fact(t("manager.js.alarms.cleared"), el("time", { datetime: alarm.cleared_at, text: formatDateTime(alarm.cleared_at) })));
  }
  if (alarm.escalated_steps > 0) facts.push(fact(t("manager.js.alarms.escalated"), String(alarm.escalated_steps)));
  return el("div", { class: "alarm__summary" },
    el("p", { class: "cluster alarm__badges" }, severityBadge(alarm.severity), stateBadge(alarm.state)),
    el("h3", { class: "alarm__title", id: `alarm-title-${alarm.id}`, text: alarm.title }),
    el("dl", { class: "facts" }, facts));
}

function ackForm(card) {
  const id = `ack-note-${card.alarm.id}`;
  const note = el("textarea", { class: "field__input", id, name: "note", rows: 2, maxlength: 2000, "aria-describedby": `${id}-hint` });
  const error = el("p", { class: "alert-box alert-box--error", role: "alert", hidden: true });
  const button = el("button", { class: "button button--primary", type: "submit", text: t("manager.js.alarms.ack.submit") });
  const form = el("form", { class: "alarm__ack form stack", dataset: { role: "ack-form" } },
    el("div", { class: "field" },
      el("label", { class: "field__label", for: id, text: t("manager.js.alarms.ack.label") }),
      note,
      el("p", { class: "field__hint", id: `${id}-hint`, text: t("manager.js.alarms.ack.hint") })),
    error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideError(error);
    button.disabled = true;
    try {
      const updated = await post(`/api/alarms/${card.alarm.id}/acknowledge`, { note: note.value.trim() });
      known.set(updated.id, updated.state);
      update(card, updated);
      card.article.focus();
      announce(t("manager.js.alarms.ack.done", { title: updated.title }));
    } catch (failure) {
      showError(error, failure);
      if (failure.status === 409) refresh();  // someone else took charge, or it is over
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function update(card, alarm) {
  card.alarm = alarm;
  const { article } = card;
  article.dataset.state = alarm.state;
  article.dataset.severity = alarm.severity;
  article.className = `alarm card alarm--${alarm.state}${article.classList.contains("alarm--new") ? " alarm--new" : ""}`;
  article.querySelector(".alarm__summary").replaceWith(summary(alarm));
  const form = article.querySelector("[data-role=ack-form]");
  if (alarm.state === "active" && !form) article.append(ackForm(card));
  if (alarm.state !== "active" && form) form.remove();
}

function create(alarm) {
  const article = el("article", {
    class: `alarm card alarm--${alarm.state}`, tabindex: "-1", "aria-labelledby": `alarm-title-${alarm.id}`,
    dataset: { alarmId: String(alarm.id), state: alarm.state, severity: alarm.severity },
  }, el("div", { class: "alarm__summary" }));
  const card = { item: el("li", {}, article), article, alarm };
  update(card, alarm);
  return card;
}

// -- the list ---------------------------------------------------------------------------

function tell(alarms) {
  for (const alarm of alarms) {
    const before = known.get(alarm.id);
    if (loaded && before === undefined) announce(t("manager.js.alarms.new", { title: alarm.title }), { assertive: alarm.severity === "critical" });
    else if (loaded && before !== alarm.state) announce(t("manager.js.alarms.changed", { title: alarm.title, state: t(`manager.js.state.${alarm.state}`) }));
    known.set(alarm.id, alarm.state);
  }
}

function show(alarms) {
  const wanted = chosen();
  const shown = alarms.filter((alarm) => matches(alarm, wanted));
  tell(shown);
  const ids = new Set(shown.map((alarm) => alarm.id));
  for (const [id, card] of cards) {
    if (!ids.has(id)) {
      card.item.remove();
      cards.delete(id);
    }
  }
  shown.forEach((alarm, index) => {
    let card = cards.get(alarm.id);
    if (card) {
      update(card, alarm);
    } else {
      card = create(alarm);
      if (loaded) card.article.classList.add("alarm--new");
      cards.set(alarm.id, card);
    }
    const there = list.children[index];
    if (there !== card.item) list.insertBefore(card.item, there || null);
  });
  count.textContent = plural("manager.js.alarms.count", shown.length);
  empty.hidden = shown.length > 0;
}

async function load() {
  try {
    const answer = await get("/api/alarms", { state: chosen().state, limit: 200 });
    hideError(errorBox);
    show(answer.items);
  } catch (failure) {
    showError(errorBox, failure);
  } finally {
    loaded = true;
    list.setAttribute("aria-busy", "false");
  }
}

let running = false;
let pending = false;

async function refresh() {
  if (running) {
    pending = true;
    return;
  }
  running = true;
  try {
    do {
      pending = false;
      await load();
    } while (pending);
  } finally {
    running = false;
  }
}

function rememberFilters() {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(chosen())) if (value) query.set(name, value);
  window.history.replaceState(null, "", `${window.location.pathname}?${query}`);
}

filters.addEventListener("change", () => {
  rememberFilters();
  refresh();
});
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});

refresh();
window.setInterval(refresh, 60_000);  // a safety net: the stream brings changes at once
const changed = () => refresh();
live({
  "alarm.raised": changed,
  "alarm.acknowledged": changed,
  "alarm.escalated": changed,
  "alarm.still_happening": changed,
  "alarm.cleared": changed,
}, { onResync: changed });

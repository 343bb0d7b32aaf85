// The resident's feed: posts from GET /api/feed, kept live by the stream, and every
// interaction of the rights matrix a reader may have (reactions, comments, "I can help",
// RSVP, votes). Cards are built with el(): what members wrote is always text, never HTML.

import { ApiError, del, get, post, put } from "./api.js";
import { live } from "./live.js";
import {
  announce, clear, el, errorText, formatDate, formatDateTime, hideError, showError,
  showFieldErrors, t,
} from "./dom.js";

const page = document.getElementById("feed-page");
const place = page.dataset.place || "";
const me = Number(page.dataset.memberId);
const list = document.getElementById("feed-list");
const pinned = document.getElementById("pinned");
const pinnedSection = document.getElementById("pinned-section");
const moreButton = document.getElementById("feed-more");
const feedError = document.getElementById("feed-error");

const cards = new Map();  // post id → its <article>
let cursor = null;

// -- what a post shows ----------------------------------------------------------------

const DATE_TIME_FIELDS = new Set(["pinned_until", "expires_at", "needed_at", "starts_at", "ends_at", "closes_at"]);
const DATE_FIELDS = new Set(["due", "when"]);
const CHOICE_FIELDS = {
  service_offer: { category: "resident.service." },
  service_request: { category: "resident.service." },
  problem_report: { category: "resident.problem." },
  lending: { condition: "resident.condition." },
  lost_found: { type: "resident.lost_found." },
};
const DETAIL_FIELDS = {
  help_request: ["needed_at"],
  service_offer: ["category", "availability"],
  service_request: ["category", "needed_at"],
  lending: ["object", "condition", "due"],
  event: ["starts_at", "ends_at", "location", "capacity"],
  promotion: ["expires_at"],
  lost_found: ["type", "item", "where", "when"],
  problem_report: ["category", "location"],
};

export function alertState(item) {
  if (item.alarm_state === "cleared" || item.status === "resolved") return "resolved";
  if (item.alarm_state === "acknowledged") return "acknowledged";
  return "active";
}

function fieldValue(kind, name, value) {
  const prefix = CHOICE_FIELDS[kind]?.[name];
  if (prefix) return t(`${prefix}${value}`);
  if (DATE_TIME_FIELDS.has(name)) return formatDateTime(value);
  if (DATE_FIELDS.has(name)) return formatDate(value);
  return String(value);
}

function details(item) {
  const names = (DETAIL_FIELDS[item.kind] || []).filter((name) => item.data[name] != null && item.data[name] !== "");
  const rows = names.map((name) => [
    el("dt", { text: t(`resident.field.${name}`) }),
    el("dd", { text: fieldValue(item.kind, name, item.data[name]) }),
  ]);
  if (item.kind === "lending" && item.data.returned) rows.push(el("dd", { class: "badge badge--ok", text: t("resident.js.lending.returned") }));
  if (item.vouched_by) rows.push(el("dd", { class: "post__vouched", text: t("resident.js.vouched", { count: item.vouched_by }) }));
  return rows.length ? el("dl", { class: "post__details" }, rows) : null;
}

function header(item) {
  const badges = [el("span", { class: `badge badge--kind badge--${item.kind}`, text: item.label || t(`kind.${item.kind}`) })];
  if (item.kind === "alert") {
    const state = alertState(item);
    badges.push(el("span", { class: `badge badge--state badge--${state}`, dataset: { role: "alert-state" }, text: t(`resident.js.alert.${state}`) }));
  }
  if (item.residents_only) badges.push(el("span", { class: "badge", text: t("resident.js.residents_only") }));
  if (item.pinned && item.pinned_until) {
    badges.push(el("span", { class: "badge badge--pinned", text: t("resident.js.pinned_until", { date: formatDateTime(item.pinned_until) }) }));
  }
  return el("header", { class: "post__header" },
    el("div", { class: "cluster" }, badges),
    el("p", { class: "post__meta" },
      el("span", { class: "post__place", text: item.place.name }),
      item.author ? el("span", { text: t("resident.js.by", { name: item.author.display_name }) }) : null,
      el("time", { datetime: item.created_at, text: formatDateTime(item.created_at) })));
}

function renderPost(item) {
  const classes = ["post", "card", `post--${item.kind}`];
  if (item.pinned) classes.push("post--pinned");
  const article = el("article", {
    class: classes.join(" "), id: `post-${item.id}`, tabindex: "-1",
    "aria-labelledby": `post-${item.id}-title`,
    dataset: { postId: item.id, kind: item.kind },
  });
  if (item.kind === "alert") {
    const state = alertState(item);
    article.dataset.state = state;
    article.classList.add(`post--state-${state}`);
  }
  const parts = [
    header(item),
    el("h3", { class: "post__title", id: `post-${item.id}-title`, text: item.title }),
    item.body ? el("p", { class: "post__body", text: item.body }) : null,
    details(item),
  ];
  article.append(...parts.filter(Boolean));
  const extra = el("div", { class: "post__extra stack" });
  article.append(extra);
  if (item.kind === "help_request") renderHelp(item, extra);
  if (item.kind === "event") renderRsvp(item, extra);
  if (item.kind === "poll") renderPoll(item, extra);
  article.append(footer(item));
  return article;
}

// -- reactions and comments -------------------------------------------------------------

function reactionKinds(item) {
  const kinds = ["like", "thanks"];
  if (item.kind === "alert" && alertState(item) !== "resolved") kinds.unshift("still_happening");
  if (item.kind === "problem_report" && item.author?.id !== me) kinds.unshift("me_too");
  return kinds;
}

function reactionButton(item, kind) {
  const pressed = item.my_reactions.includes(kind);
  const count = item.counts.reactions[kind] || 0;
  const button = el("button", {
    type: "button", class: "button button--small reaction",
    "aria-pressed": pressed ? "true" : "false", dataset: { reaction: kind },
  }, el("span", { text: t(`resident.js.react.${kind}`) }), " ", el("span", { class: "reaction__count", text: String(count) }));
  button.addEventListener("click", async () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      const answer = on
        ? await post(`/api/posts/${item.id}/reactions`, { kind })
        : await del(`/api/posts/${item.id}/reactions/${kind}`);
      replacePost(answer.post);
    } catch (error) {
      reportOn(button, error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function reportOn(anchor, error) {
  const card = anchor.closest(".post");
  let box = card?.querySelector(":scope > .post__error");
  if (!box && card) {
    box = el("p", { class: "alert-box alert-box--error post__error", role: "alert" });
    card.append(box);
  }
  if (box) showError(box, error);
}

function footer(item) {
  const commentsId = `post-${item.id}-comments`;
  const toggle = el("button", {
    type: "button", class: "button button--small button--quiet",
    "aria-expanded": "false", "aria-controls": commentsId, dataset: { role: "comments-toggle" },
    text: t("resident.js.comments", { count: item.counts.comments }),
  });
  const panel = el("div", { class: "comments stack", id: commentsId, hidden: true });
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
    if (open) loadComments(item.id, panel);
  });
  return el("footer", { class: "post__footer" },
    el("div", { class: "cluster" }, reactionKinds(item).map((kind) => reactionButton(item, kind)), toggle),
    panel);
}

async function loadComments(postId, panel) {
  clear(panel).append(el("p", { class: "muted", text: t("js.loading") }));
  let page;
  try {
    page = await get(`/api/posts/${postId}/comments`, { limit: 100 });
  } catch (error) {
    clear(panel).append(el("p", { class: "alert-box alert-box--error", role: "alert", text: errorText(error) }));
    return;
  }
  const items = page.items.filter((comment) => comment.moderation === "visible");
  const inputId = `comment-${postId}`;
  const form = el("form", { class: "comments__form stack" },
    el("label", { class: "field__label", for: inputId, text: t("resident.js.comment.label") }),
    el("textarea", { class: "field__input", id: inputId, name: "body", rows: "2", required: true, maxlength: "5000" }),
    el("p", { class: "alert-box alert-box--error", role: "alert", hidden: true }),
    el("button", { type: "submit", class: "button button--small button--primary", text: t("resident.js.comment.submit") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = form.elements.body.value.trim();
    if (!body) return;
    const box = form.querySelector(".alert-box");
    try {
      await post(`/api/posts/${postId}/comments`, { body });
      form.reset();
      hideError(box);
      await loadComments(postId, panel);
      panel.querySelector("textarea")?.focus();
    } catch (error) {
      showError(box, error);
    }
  });
  clear(panel).append(
    items.length
      ? el("ul", { class: "comments__list stack" }, items.map((comment) => el("li", { class: "comment" },
        el("p", { class: "comment__meta" },
          el("strong", { text: comment.author?.display_name || "—" }), " ",
          el("time", { datetime: comment.created_at, text: formatDateTime(comment.created_at) })),
        el("p", { class: "comment__body", text: comment.body }))))
      : el("p", { class: "muted", text: t("resident.js.comment.none") }),
    form);
}

// -- help requests: "I can help", and the requester's offers -----------------------------

async function renderHelp(item, box) {
  const mine = item.author?.id === me;
  let offers;
  try {
    offers = await get(`/api/posts/${item.id}/offers`);
  } catch (error) {
    box.append(el("p", { class: "alert-box alert-box--error", text: errorText(error) }));
    return;
  }
  if (offers.requester || mine) {
    box.append(renderOffers(item, offers));
    return;
  }
  const own = offers.items.find((offer) => offer.helper.id === me && offer.status !== "withdrawn");
  if (own) {
    const key = own.status === "accepted" ? "resident.js.help.accepted" : "resident.js.help.offered";
    box.append(el("p", { class: "alert-box alert-box--ok", dataset: { role: "help-offered", status: own.status }, text: t(key) }));
    return;
  }
  if (item.status !== "active") return;
  const inputId = `help-${item.id}`;
  const form = el("form", { class: "help-form stack", hidden: true },
    el("label", { class: "field__label", for: inputId, text: t("resident.js.help.message") }),
    el("textarea", { class: "field__input", id: inputId, name: "message", rows: "2", maxlength: "2000" }),
    el("p", { class: "alert-box alert-box--error", role: "alert", hidden: true }),
    el("button", { type: "submit", class: "button button--primary button--small", text: t("resident.js.help.send") }));
  const open = el("button", { type: "button", class: "button button--primary", "aria-expanded": "false", dataset: { role: "offer-help" }, text: t("resident.js.help.offer") });
  open.addEventListener("click", () => {
    form.hidden = false;
    open.setAttribute("aria-expanded", "true");
    form.elements.message.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post(`/api/posts/${item.id}/offers`, { message: form.elements.message.value.trim() });
      const done = el("p", { class: "alert-box alert-box--ok", role: "status", dataset: { role: "help-offered" }, text: t("resident.js.help.offered") });
      clear(box).append(done);
      announce(t("resident.js.help.offered"));
    } catch (error) {
      showError(form.querySelector(".alert-box"), error);
    }
  });
  box.append(open, form);
}

function renderOffers(item, offers) {
  const section = el("section", { class: "offers stack", "aria-label": t("resident.js.help.offers") },
    el("h4", { class: "offers__title", text: t("resident.js.help.offers") }));
  if (!offers.items.length) {
    section.append(el("p", { class: "muted", text: t("resident.js.help.no_offers") }));
    return section;
  }
  const rows = offers.items.map((offer) => {
    const row = el("li", { class: "offer", dataset: { offerId: offer.id, status: offer.status } },
      el("strong", { class: "offer__helper", text: offer.helper.display_name }), " ",
      el("span", { class: "badge", text: t(`resident.js.help.status.${offer.status}`) }),
      offer.message ? el("p", { class: "offer__message", text: offer.message }) : null);
    if (offers.requester && offer.status === "offered" && item.status === "active") {
      const accept = el("button", { type: "button", class: "button button--small button--primary", text: t("resident.js.help.accept") });
      accept.addEventListener("click", async () => {
        try {
          const answer = await post(`/api/posts/${item.id}/offers/${offer.id}/accept`);
          section.replaceWith(renderOffers({ ...item, status: "resolved" }, answer));
        } catch (error) {
          reportOn(accept, error);
        }
      });
      row.append(" ", accept);
    }
    return row;
  });
  section.append(el("ul", { class: "offers__list stack" }, rows));
  return section;
}

// -- events: RSVP ----------------------------------------------------------------------------

async function renderRsvp(item, box) {
  let summary;
  try {
    summary = await get(`/api/posts/${item.id}/rsvp`);
  } catch (error) {
    box.append(el("p", { class: "alert-box alert-box--error", text: errorText(error) }));
    return;
  }
  const status = el("p", { class: "rsvp__summary", dataset: { role: "rsvp-summary" } });
  const error = el("p", { class: "alert-box alert-box--error", role: "alert", hidden: true });
  const show = (current) => {
    status.textContent = t("resident.js.rsvp.summary", current)
      + (current.remaining != null ? ` · ${t("resident.js.rsvp.remaining", current)}` : "");
    for (const button of buttons) button.setAttribute("aria-pressed", button.dataset.answer === current.mine ? "true" : "false");
  };
  const buttons = ["yes", "maybe", "no"].map((answer) => {
    const button = el("button", { type: "button", class: "button button--small", dataset: { answer }, text: t(`resident.js.rsvp.${answer}`) });
    button.addEventListener("click", async () => {
      try {
        show(await put(`/api/posts/${item.id}/rsvp`, { answer }));
        hideError(error);
      } catch (failure) {
        showError(error, failure);
      }
    });
    return button;
  });
  const group = el("div", { class: "rsvp stack", role: "group", "aria-labelledby": `rsvp-${item.id}` },
    el("p", { class: "rsvp__question", id: `rsvp-${item.id}`, text: t("resident.js.rsvp.question") }),
    el("div", { class: "cluster" }, buttons), status, error);
  show(summary);
  box.append(group);
}

// -- polls -------------------------------------------------------------------------------------

async function renderPoll(item, box) {
  let results;
  try {
    results = await get(`/api/posts/${item.id}/results`);
  } catch (error) {
    box.append(el("p", { class: "alert-box alert-box--error", text: errorText(error) }));
    return;
  }
  clear(box).append(pollView(item, results));
}

function pollView(item, results) {
  if (results.mine !== null || results.closed) {
    const total = Math.max(results.total, 1);
    return el("div", { class: "poll stack", dataset: { role: "poll-results" } },
      results.closed ? el("p", { class: "badge", text: t("resident.js.poll.closed") }) : null,
      el("ul", { class: "poll__results stack" }, results.options.map((option) => el("li", { class: "poll__result" },
        el("span", { class: "poll__option", text: option.text }),
        option.index === results.mine ? el("span", { class: "badge badge--ok", text: t("resident.js.poll.mine") }) : null,
        el("meter", { class: "poll__meter", min: "0", max: String(total), value: String(option.votes), "aria-label": option.text }),
        el("span", { class: "poll__count", text: t("resident.js.poll.votes", { count: option.votes }) })))));
  }
  const name = `poll-${item.id}`;
  const error = el("p", { class: "alert-box alert-box--error", role: "alert", hidden: true });
  const form = el("form", { class: "poll stack" },
    el("fieldset", { class: "stack" },
      el("legend", { class: "visually-hidden", text: item.title }),
      results.options.map((option) => el("div", { class: "field field--check" },
        el("input", { type: "radio", name, id: `${name}-${option.index}`, value: String(option.index), required: true }),
        el("label", { for: `${name}-${option.index}`, text: option.text })))),
    error,
    el("button", { type: "submit", class: "button button--small button--primary", text: t("resident.js.poll.vote") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector(`input[name="${name}"]:checked`);
    if (!chosen) return;
    try {
      form.replaceWith(pollView(item, await post(`/api/posts/${item.id}/votes`, { option: Number(chosen.value) })));
    } catch (failure) {
      showError(error, failure);
    }
  });
  return form;
}

// -- the list -----------------------------------------------------------------------------------

function placeEmpty() {
  const empty = !list.querySelector(".post");
  let note = list.querySelector(".feed__empty");
  if (empty && !note) list.append(el("p", { class: "feed__empty muted", text: t("resident.js.empty") }));
  if (!empty && note) note.remove();
  pinnedSection.hidden = !pinned.querySelector(".post");
}

function insertPost(item, { top }) {
  const card = renderPost(item);
  const old = cards.get(item.id);
  const container = item.pinned ? pinned : list;
  if (old && old.parentElement === container) {
    old.replaceWith(card);
  } else {
    old?.remove();
    if (top) container.prepend(card); else container.append(card);
  }
  cards.set(item.id, card);
  readWatcher?.observe(card);
  placeEmpty();
  return card;
}

function replacePost(item) {
  const old = cards.get(item.id);
  const wasOpen = old?.querySelector('[data-role="comments-toggle"]')?.getAttribute("aria-expanded") === "true";
  const card = insertPost(item, { top: true });
  if (wasOpen) card.querySelector('[data-role="comments-toggle"]')?.click();
  return card;
}

function removePost(postId) {
  cards.get(postId)?.remove();
  cards.delete(postId);
  placeEmpty();
}

async function loadFeed({ reset = false } = {}) {
  if (reset) {
    cursor = null;
    for (const id of [...cards.keys()]) removePost(id);
  }
  list.setAttribute("aria-busy", "true");
  try {
    const answer = await get("/api/feed", { limit: 20, place, cursor });
    for (const item of answer.items) insertPost(item, { top: false });
    cursor = answer.next_cursor;
    moreButton.hidden = !cursor;
    hideError(feedError);
  } catch (error) {
    showError(feedError, error);
  } finally {
    list.setAttribute("aria-busy", "false");
    placeEmpty();
  }
}

moreButton.addEventListener("click", () => loadFeed());

// -- marking what was seen as read ------------------------------------------------------------

const seen = new Set();
const readWatcher = "IntersectionObserver" in window
  ? new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) {
        seen.add(Number(entry.target.dataset.postId));
        readWatcher.unobserve(entry.target);
      }
    }
  }, { threshold: 0.5 })
  : null;

window.setInterval(async () => {
  if (!seen.size) return;
  const ids = [...seen].slice(0, 500);
  for (const id of ids) seen.delete(id);
  try {
    await post("/api/reads", { post_ids: ids });
  } catch {
    for (const id of ids) seen.add(id);
  }
}, 3000);

// -- unread counts on the circle tabs -----------------------------------------------------------

function showUnread(counts) {
  for (const tab of document.querySelectorAll(".circles__tab[data-circle]")) {
    const badge = tab.querySelector(".circles__unread");
    if (!badge) continue;
    const count = counts.circles?.[tab.dataset.circle] || 0;
    badge.hidden = count === 0;
    badge.textContent = String(count);
    badge.setAttribute("aria-label", t("resident.js.unread", { count }));
  }
}

// -- private notices for the household ------------------------------------------------------------

const household = document.getElementById("household");
const householdList = document.getElementById("household-list");

async function loadHousehold() {
  let answer;
  try {
    answer = await get("/api/notifications", { limit: 10 });
  } catch {
    return;
  }
  clear(householdList);
  for (const note of answer.items) {
    const row = el("li", { class: `household__item card${note.read_at ? "" : " household__item--unread"}`, dataset: { notificationId: note.id } },
      el("p", { class: "household__title", text: note.title }),
      note.body ? el("p", { class: "household__body", text: note.body }) : null,
      el("time", { class: "muted", datetime: note.delivered_at, text: formatDateTime(note.delivered_at) }));
    if (!note.read_at) {
      const mark = el("button", { type: "button", class: "button button--small button--quiet", text: t("resident.js.mark_read") });
      mark.addEventListener("click", async () => {
        try {
          await post(`/api/notifications/${note.id}/read`);
          row.classList.remove("household__item--unread");
          mark.remove();
        } catch (error) {
          reportOn(mark, error);
        }
      });
      row.append(mark);
    }
    householdList.append(row);
  }
  household.hidden = answer.items.length === 0;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") loadHousehold();
});
window.setInterval(loadHousehold, 60000);

// -- live -------------------------------------------------------------------------------------------

function inThisTab(item) {
  return !place || item.place?.id === place;
}

async function fetchPost(postId) {
  try {
    return await get(`/api/posts/${postId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

live({
  // An offer of help made, accepted or withdrawn: only the requester and the helper hear it.
  "offer.changed": async ({ post_id: postId }) => {
    if (!cards.has(postId)) return;
    const full = await fetchPost(postId);
    if (full) replacePost(full);
  },
  "post.created": async ({ post: item }) => {
    if (!inThisTab(item) || item.moderation === "hidden") return;
    const full = await fetchPost(item.id);
    if (!full) return;
    const card = insertPost(full, { top: true });
    card.classList.add("post--new");
    if (full.kind === "alert") announce(t("resident.js.alert.new", { title: full.title }), { assertive: true });
  },
  "post.updated": async ({ post: item }) => {
    if (!cards.has(item.id)) return;
    if (item.moderation === "hidden") {
      removePost(item.id);
      return;
    }
    const before = cards.get(item.id)?.dataset.state;
    const full = await fetchPost(item.id);
    if (!full) {
      removePost(item.id);
      return;
    }
    replacePost(full);
    if (full.kind === "alert" && alertState(full) !== before) {
      announce(t("resident.js.alert.changed", { title: full.title, state: t(`resident.js.alert.${alertState(full)}`) }));
    }
  },
  "comment.created": async ({ comment }) => {
    const card = cards.get(comment.post_id);
    if (!card) return;
    const full = await fetchPost(comment.post_id);
    if (full) replacePost(full);
  },
  "reaction.changed": ({ post_id: postId, counts }) => {
    const card = cards.get(postId);
    if (!card) return;
    for (const button of card.querySelectorAll("[data-reaction]")) {
      button.querySelector(".reaction__count").textContent = String(counts[button.dataset.reaction] || 0);
    }
  },
  "unread.changed": showUnread,
}, { onResync: () => loadFeed({ reset: true }) });

// -- the composer ---------------------------------------------------------------------------------

const composer = document.getElementById("composer");

function composerSetup() {
  if (!composer) return;
  const placeSelect = composer.elements.place;
  const kindSelect = composer.elements.kind;
  const reason = document.getElementById("compose-kind-reason");
  const formError = document.getElementById("compose-error");
  const residentsOnly = composer.querySelector("#compose-residents-only").closest(".field");
  const BUILDING_SPACE = new Set(["building", "entrance", "floor", "unit"]);

  const showKind = () => {
    for (const fieldset of composer.querySelectorAll(".composer__kind")) {
      const active = fieldset.dataset.kind === kindSelect.value;
      fieldset.hidden = !active;
      fieldset.disabled = !active;
    }
  };

  const loadRights = async () => {
    const option = placeSelect.selectedOptions[0];
    residentsOnly.hidden = !BUILDING_SPACE.has(option?.dataset.kind);
    let rights;
    try {
      rights = await get("/api/rights", { place: placeSelect.value });
    } catch (error) {
      showError(formError, error);
      return;
    }
    const allowed = new Map(rights.kinds.map((right) => [right.kind, right]));
    for (const choice of kindSelect.options) choice.disabled = !allowed.get(choice.value)?.allowed;
    if (kindSelect.selectedOptions[0]?.disabled) {
      const first = [...kindSelect.options].find((choice) => !choice.disabled);
      if (first) kindSelect.value = first.value;
    }
    const none = [...kindSelect.options].every((choice) => choice.disabled);
    reason.hidden = !none;
    reason.textContent = none ? allowed.get(kindSelect.value)?.message || "" : "";
    showKind();
  };

  const value = (input) => {
    const raw = input.value.trim();
    if (!raw) return undefined;
    switch (input.dataset.type) {
      case "number": return Number.parseInt(raw, 10);
      case "datetime": return new Date(raw).toISOString();
      case "lines": return raw.split("\n").map((line) => line.trim()).filter(Boolean);
      default: return raw;
    }
  };

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideError(formError);
    if (!composer.reportValidity()) return;
    const data = {};
    for (const input of composer.querySelectorAll('[name^="data."]')) {
      if (input.disabled || input.closest("fieldset:disabled")) continue;
      const v = value(input);
      if (v !== undefined) data[input.name.slice(5)] = v;
    }
    const body = {
      place: placeSelect.value,
      kind: kindSelect.value,
      title: composer.elements.title.value.trim(),
      body: composer.elements.body.value.trim(),
      residents_only: !residentsOnly.hidden && composer.elements.residents_only.checked,
      data,
    };
    const submit = composer.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const created = await post("/api/posts", body);
      showFieldErrors(composer, []);
      composer.reset();
      placeSelect.value = body.place;
      kindSelect.value = body.kind;
      showKind();
      if (inThisTab(created)) insertPost(created, { top: true }).focus();
      announce(t("resident.js.published"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 422 && showFieldErrors(composer, error.errors)) {
        showError(formError, t("resident.js.fix_fields"));
      } else {
        showError(formError, error);
      }
    } finally {
      submit.disabled = false;
    }
  });
  placeSelect.addEventListener("change", loadRights);
  kindSelect.addEventListener("change", showKind);
  loadRights();
}

composerSetup();
loadFeed();
loadHousehold();

// Official notices of one building: the composer (POST /api/posts, kind "notice", at the
// building or one entrance, pinned until / taken down on), and the current notices with
// their read receipts by household (GET /api/posts/{id}/receipts). Receipts are read again
// every 30 seconds and on "Refresh the reads"; a notice published elsewhere arrives live.

import { get, post } from "./api.js";
import { live } from "./live.js";
import { announce, el, formatDateTime, hideError, showError, showFieldErrors, t } from "./dom.js";
import { shortPlace } from "./manager-common.js";

const page = document.getElementById("notices-page");
const building = page.dataset.building;
const form = document.getElementById("notice-form");
const formError = document.getElementById("notice-error");
const published = document.getElementById("notice-published");
const list = document.getElementById("notice-list");
const empty = document.getElementById("notice-empty");
const listError = document.getElementById("notice-list-error");

const inBuilding = (place) => (place.id === building || place.id.startsWith(`${building}/`)) && place.kind !== "unit";

function receiptsBlock(notice) {
  return el("div", { class: "receipts", dataset: { role: "receipts-box" } },
    el("p", { class: "receipts__summary", dataset: { role: "receipts" }, text: t("js.loading") }),
    el("meter", { class: "receipts__meter", min: 0, max: 100, value: 0, "aria-label": t("manager.js.notices.reads"), hidden: true }));
}

function noticeCard(notice) {
  const badges = [el("span", { class: "badge badge--notice", text: notice.place.kind === "building" ? notice.place.name : shortPlace(notice.place.name) })];
  if (notice.pinned && notice.pinned_until) {
    badges.push(el("span", { class: "badge badge--pinned", text: t("manager.js.notices.pinned_until", { date: formatDateTime(notice.pinned_until) }) }));
  }
  if (notice.expires_at) {
    badges.push(el("span", { class: "badge", text: t("manager.js.notices.expires_at", { date: formatDateTime(notice.expires_at) }) }));
  }
  return el("li", {}, el("article", { class: "notice-item card stack", dataset: { postId: String(notice.id) }, "aria-labelledby": `notice-${notice.id}` },
    el("h3", { class: "notice-item__title", id: `notice-${notice.id}`, text: notice.title }),
    el("p", { class: "cluster" }, badges),
    el("p", { class: "muted", text: t("manager.js.notices.published_at", { date: formatDateTime(notice.created_at) }) }),
    notice.body ? el("p", { class: "notice-item__body", text: notice.body }) : null,
    receiptsBlock(notice)));
}

async function loadReceipts(article) {
  const box = article.querySelector("[data-role=receipts-box]");
  const line = box.querySelector("[data-role=receipts]");
  const meter = box.querySelector("meter");
  try {
    const receipts = await get(`/api/posts/${article.dataset.postId}/receipts`);
    line.textContent = receipts.summary;
    line.dataset.percent = String(receipts.percent);
    meter.value = receipts.percent;
    meter.hidden = false;
  } catch (failure) {
    if (failure.status === 403 || failure.status === 404) box.hidden = true;  // not a notice of ours
    else showError(line, failure);
  }
}

async function loadNotices() {
  try {
    const feed = await get("/api/feed", { kind: "notice", limit: 100 });
    const notices = feed.items.filter((item) => inBuilding(item.place));
    list.replaceChildren(...notices.map(noticeCard));
    empty.hidden = notices.length > 0;
    hideError(listError);
    await refreshReceipts();
  } catch (failure) {
    showError(listError, failure);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function refreshReceipts() {
  return Promise.all([...list.querySelectorAll("article[data-post-id]")].map(loadReceipts));
}

// "2030-06-01T18:30" from a datetime-local input is the browser's local time.
const isoFrom = (value) => (value ? new Date(value).toISOString() : null);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  hideError(formError);
  published.hidden = true;
  const values = new FormData(form);
  const data = {};
  for (const name of ["pinned_until", "expires_at"]) {
    const value = isoFrom(values.get(`data.${name}`));
    if (value) data[name] = value;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await post("/api/posts", {
      place: values.get("place"), kind: "notice", title: String(values.get("title") || "").trim(),
      body: String(values.get("body") || ""), data,
    });
    showFieldErrors(form, []);
    form.reset();
    published.textContent = t("manager.js.notices.published");
    published.hidden = false;
    announce(t("manager.js.notices.published"));
    await loadNotices();
  } catch (failure) {
    if (failure.status === 422 && showFieldErrors(form, failure.errors)) {
      showError(formError, t("manager.js.notices.fix_fields"));
    } else {
      showError(formError, failure);
    }
  } finally {
    button.disabled = false;
  }
});

document.getElementById("receipts-refresh").addEventListener("click", refreshReceipts);
loadNotices();
window.setInterval(refreshReceipts, 30_000);
const noticeChanged = (data) => {
  if (data.post?.kind === "notice" && data.post.place && inBuilding(data.post.place)) loadNotices();
};
live({ "post.created": noticeChanged, "post.updated": noticeChanged }, { onResync: loadNotices });

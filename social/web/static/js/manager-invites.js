// Invite codes and join requests of one building.
//
// Issuing: POST /api/places/{unit}/invites shows the code as a letter to print, with the
// full join link. The flat chosen also lists its codes (GET /api/places/{unit}/invites),
// an active one revocable (DELETE /api/invites/{code}). Join requests: GET
// /api/buildings/{id}/join-requests, approved or rejected with one button each.

import { del, get, post } from "./api.js";
import { announce, el, formatDate, formatDateTime, hideError, showError, showFieldErrors, t } from "./dom.js";

const page = document.getElementById("invites-page");
const building = page.dataset.building;
const form = document.getElementById("invite-form");
const unitSelect = document.getElementById("invite-unit");
const formError = document.getElementById("invite-error");
const letter = document.getElementById("invite-letter");
const inviteList = document.getElementById("invite-list");
const inviteEmpty = document.getElementById("invite-empty");
const inviteError = document.getElementById("invite-list-error");
const requestList = document.getElementById("request-list");
const requestEmpty = document.getElementById("requests-empty");
const requestError = document.getElementById("requests-error");

const unitPath = (unit) => unit.split("/").map(encodeURIComponent).join("/");
const fullLink = (link) => new URL(link, window.location.origin).href;
const unitName = () => unitSelect.selectedOptions[0]?.dataset.name || unitSelect.value;

// -- issuing a code ------------------------------------------------------------------------

function showLetter(invite) {
  document.getElementById("invite-letter-place").textContent = t("manager.js.invites.for", { place: invite.place.name });
  document.getElementById("invite-letter-code").textContent = invite.code;
  const link = document.getElementById("invite-letter-link");
  link.href = invite.link;
  link.textContent = fullLink(invite.link);
  document.getElementById("invite-letter-expires").textContent = t("manager.js.invites.expires", { date: formatDate(invite.expires_at) });
  letter.hidden = false;
  letter.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  hideError(formError);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const invite = await post(`/api/places/${unitPath(unitSelect.value)}/invites`, {
      role: form.elements.namedItem("role").value,
      expires_in_days: Number(form.elements.namedItem("expires_in_days").value),
    });
    showFieldErrors(form, []);
    showLetter(invite);
    announce(t("manager.js.invites.issued", { code: invite.code }));
    await loadInvites();
  } catch (failure) {
    if (!(failure.status === 422 && showFieldErrors(form, failure.errors))) showError(formError, failure);
  } finally {
    button.disabled = false;
  }
});

document.getElementById("invite-print").addEventListener("click", () => window.print());

// -- the codes of the flat chosen -----------------------------------------------------------

function inviteItem(invite) {
  const facts = [
    el("span", { class: `badge badge--invite-${invite.status}`, dataset: { role: "status" }, text: t(`manager.js.invites.status.${invite.status}`) }),
    el("span", { class: "muted", text: t("manager.js.invites.expires", { date: formatDate(invite.expires_at) }) }),
  ];
  if (invite.used_by) {
    facts.push(el("span", { text: t("manager.js.invites.used_by", { name: invite.used_by.display_name, date: formatDateTime(invite.used_at) }) }));
  }
  const item = el("li", { class: "invite card cluster cluster--spread", dataset: { code: invite.code, status: invite.status } },
    el("div", { class: "stack" },
      el("p", { class: "invite__code", text: invite.code }),
      el("p", { class: "cluster" }, facts)));
  if (invite.status === "active") {
    const button = el("button", { class: "button button--small button--danger", type: "button", text: t("manager.js.invites.revoke"), "aria-label": `${t("manager.js.invites.revoke")} ${invite.code}` });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await del(`/api/invites/${encodeURIComponent(invite.code)}`);
        announce(t("manager.js.invites.revoked", { code: invite.code }));
        await loadInvites();
      } catch (failure) {
        showError(inviteError, failure);
        button.disabled = false;
      }
    });
    item.append(button);
  }
  return item;
}

let asked = 0;  // the flat of the latest request: an answer for another one is dropped

async function loadInvites() {
  document.getElementById("invite-list-unit").textContent = unitName();
  if (!unitSelect.value) return;
  const request = ++asked;
  try {
    const answer = await get(`/api/places/${unitPath(unitSelect.value)}/invites`, { limit: 50 });
    if (request !== asked) return;
    inviteList.replaceChildren(...answer.items.map(inviteItem));
    inviteEmpty.hidden = answer.items.length > 0;
    hideError(inviteError);
  } catch (failure) {
    showError(inviteError, failure);
  } finally {
    inviteList.setAttribute("aria-busy", "false");
  }
}

unitSelect.addEventListener("change", loadInvites);

// -- join requests -----------------------------------------------------------------------

function requestItem(request) {
  const name = request.member.display_name;
  const decide = (verdict) => async (event) => {
    const buttons = event.currentTarget.parentElement.querySelectorAll("button");
    for (const button of buttons) button.disabled = true;
    try {
      await post(`/api/join-requests/${request.id}/${verdict}`);
      announce(t(`manager.js.requests.${verdict === "approve" ? "approved" : "rejected"}`, { name }));
      await loadRequests();
    } catch (failure) {
      showError(requestError, failure);
      for (const button of buttons) button.disabled = false;
    }
  };
  return el("li", { class: "join-request card stack", dataset: { requestId: String(request.id) } },
    el("p", { class: "join-request__who", text: t("manager.js.requests.asks", { name, place: request.place.name, role: t(`manager.js.role.${request.role}`) }) }),
    request.message ? el("blockquote", { class: "join-request__message", text: request.message }) : null,
    el("p", { class: "muted" }, el("time", { datetime: request.created_at, text: formatDateTime(request.created_at) })),
    el("div", { class: "cluster" },
      el("button", { class: "button button--primary button--small", type: "button", text: t("manager.js.requests.approve"), "aria-label": `${t("manager.js.requests.approve")} — ${name}`, on: { click: decide("approve") } }),
      el("button", { class: "button button--danger button--small", type: "button", text: t("manager.js.requests.reject"), "aria-label": `${t("manager.js.requests.reject")} — ${name}`, on: { click: decide("reject") } })));
}

async function loadRequests() {
  try {
    const answer = await get(`/api/buildings/${encodeURIComponent(building)}/join-requests`, { status: "pending", limit: 100 });
    requestList.replaceChildren(...answer.items.map(requestItem));
    requestEmpty.hidden = answer.items.length > 0;
    hideError(requestError);
  } catch (failure) {
    showError(requestError, failure);
  } finally {
    requestList.setAttribute("aria-busy", "false");
  }
}

loadInvites();
loadRequests();

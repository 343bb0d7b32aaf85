// Hall display links of one building: make one (POST /api/buildings/{id}/display-links,
// whose token is shown once, as the full address of /display/{token}), list them, revoke
// one (DELETE /api/display-links/{id}) after a second press confirms it.

import { del, get, post } from "./api.js";
import { announce, el, formatDateTime, hideError, showError, showFieldErrors, t } from "./dom.js";

const page = document.getElementById("displays-page");
const building = page.dataset.building;
const form = document.getElementById("display-form");
const formError = document.getElementById("display-error");
const created = document.getElementById("display-created");
const urlInput = document.getElementById("display-url");
const list = document.getElementById("display-list");
const empty = document.getElementById("display-empty");
const listError = document.getElementById("display-list-error");

const screenUrl = (token) => new URL(`/display/${encodeURIComponent(token)}`, window.location.origin).href;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  hideError(formError);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const link = await post(`/api/buildings/${encodeURIComponent(building)}/display-links`,
      { label: form.elements.namedItem("label").value.trim() });
    showFieldErrors(form, []);
    form.reset();
    urlInput.value = screenUrl(link.token);
    document.getElementById("display-open").href = urlInput.value;
    created.hidden = false;
    created.focus();
    announce(t("manager.js.displays.created"));
    await loadLinks();
  } catch (failure) {
    if (!(failure.status === 422 && showFieldErrors(form, failure.errors))) showError(formError, failure);
  } finally {
    button.disabled = false;
  }
});

document.getElementById("display-copy").addEventListener("click", async () => {
  urlInput.select();
  try {
    await navigator.clipboard.writeText(urlInput.value);
    announce(t("manager.js.displays.copied"));
  } catch {
    // No clipboard (plain http, or refused): the address stays selected, ready to copy.
  }
});

function revokeButton(link) {
  const label = link.label || t("manager.js.displays.unnamed");
  const button = el("button", {
    class: "button button--small", type: "button", text: t("manager.js.displays.revoke"),
    "aria-label": `${t("manager.js.displays.revoke")} — ${label}`, dataset: { role: "revoke" },
  });
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {  // a first press asks for a second: a screen goes blank at once
      armed = true;
      button.textContent = t("manager.js.displays.confirm");
      button.setAttribute("aria-label", `${t("manager.js.displays.confirm")} — ${label}`);
      button.classList.add("button--danger");
      return;
    }
    button.disabled = true;
    try {
      await del(`/api/display-links/${link.id}`);
      announce(t("manager.js.displays.revoked"));
      await loadLinks();
    } catch (failure) {
      showError(listError, failure);
      button.disabled = false;
    }
  });
  button.addEventListener("blur", () => {
    if (!armed || button.disabled) return;
    armed = false;
    button.textContent = t("manager.js.displays.revoke");
    button.setAttribute("aria-label", `${t("manager.js.displays.revoke")} — ${label}`);
    button.classList.remove("button--danger");
  });
  return button;
}

function linkItem(link) {
  return el("li", { class: "display-link card stack", dataset: { linkId: String(link.id), status: link.status } },
    el("div", { class: "cluster cluster--spread" },
      el("h3", { class: "display-link__label", text: link.label || t("manager.js.displays.unnamed") }),
      el("span", { class: `badge ${link.status === "active" ? "badge--ok" : "badge--neutral"}`, dataset: { role: "status" }, text: t(`manager.js.displays.status.${link.status}`) })),
    el("p", { class: "muted", text: t("manager.js.displays.hint", { hint: link.hint }) }),
    el("p", { class: "muted", text: t("manager.js.displays.made", { date: formatDateTime(link.created_at), name: link.created_by?.display_name || t("manager.js.empty_value") }) }),
    el("p", { class: "muted", text: link.last_used_at ? t("manager.js.displays.last_used", { date: formatDateTime(link.last_used_at) }) : t("manager.js.displays.never_used") }),
    link.status === "active" ? el("p", {}, revokeButton(link)) : null);
}

async function loadLinks() {
  try {
    const answer = await get(`/api/buildings/${encodeURIComponent(building)}/display-links`);
    list.replaceChildren(...answer.items.map(linkItem));
    empty.hidden = answer.items.length > 0;
    hideError(listError);
  } catch (failure) {
    showError(listError, failure);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

loadLinks();

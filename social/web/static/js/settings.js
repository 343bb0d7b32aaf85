// Notification settings: each kind's mode and the quiet hours, through
// GET/PUT /api/me/notification-preferences.

import { get, put } from "./api.js";
import { announce, hideError, showError, t } from "./dom.js";

const form = document.getElementById("preferences");
const error = document.getElementById("preferences-error");
const saved = document.getElementById("preferences-saved");

function fill(preferences) {
  for (const select of form.querySelectorAll("select[data-kind]")) {
    select.value = preferences.kinds[select.dataset.kind] || select.value;
  }
  form.elements.quiet_start.value = preferences.quiet_hours.start;
  form.elements.quiet_end.value = preferences.quiet_hours.end;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  hideError(error);
  saved.hidden = true;
  if (!form.reportValidity()) return;
  const kinds = {};
  for (const select of form.querySelectorAll("select[data-kind]")) kinds[select.dataset.kind] = select.value;
  try {
    fill(await put("/api/me/notification-preferences", {
      kinds,
      quiet_hours: { start: form.elements.quiet_start.value, end: form.elements.quiet_end.value },
    }));
    saved.textContent = t("js.saved");
    saved.hidden = false;
    announce(t("js.saved"));
  } catch (failure) {
    showError(error, failure);
  }
});

get("/api/me/notification-preferences").then(fill, (failure) => showError(error, failure));

// Device health of one building (GET /api/buildings/{id}/devices), laid out as it is
// built: the building's common parts, then each entrance and its floors. Read again
// every 30 seconds and on "Refresh": availability changes with the devices' messages.

import { get } from "./api.js";
import { el, hideError, showError, t } from "./dom.js";
import { availabilityBadge, batteryBadge, formatTime, kindLabel, shortPlace, stamp } from "./manager-common.js";

const page = document.getElementById("device-health");
const building = page.dataset.building;
const layout = document.getElementById("device-layout");
const summary = document.getElementById("device-summary");
const errorBox = document.getElementById("devices-error");
const refreshed = document.getElementById("devices-refreshed");

function deviceCard(device, level) {
  const seen = device.last_seen
    ? t("manager.js.devices.last_seen", { time: formatTime(device.last_seen) })
    : t("manager.js.devices.never_seen");
  const place = device.place.kind === "unit" ? shortPlace(device.place.name).split(", ").pop() : null;
  return el("li", { class: "device card", dataset: { deviceId: device.id, availability: device.availability } },
    el(`h${level}`, { class: "device__name" },
      el("a", { href: `/manager/devices/${encodeURIComponent(device.id)}`, text: device.name || device.id })),
    el("p", { class: "device__kind muted" }, [kindLabel(device.kind), place].filter(Boolean).join(" · ")),
    el("p", { class: "cluster" }, availabilityBadge(device.availability), batteryBadge(device.battery)),
    el("p", { class: "device__seen muted", dataset: { role: "last-seen" }, text: seen }));
}

function group(heading, level, devices) {
  return el("div", { class: "device-group stack" },
    el(`h${level}`, { class: "device-group__title", text: heading }),
    el("ul", { class: "device-grid" }, devices.map((device) => deviceCard(device, level + 1))));
}

function entranceSection(entrance) {
  const parts = [];
  if (entrance.devices.length) parts.push(group(t("manager.js.devices.entrance_wide"), 3, entrance.devices));
  for (const floor of entrance.floors) {
    if (floor.devices.length) parts.push(group(shortPlace(floor.name).split(", ").pop(), 3, floor.devices));
  }
  if (!parts.length) parts.push(el("p", { class: "muted", text: t("manager.js.devices.none") }));
  return el("section", { class: "entrance card stack", dataset: { entrance: entrance.id } },
    el("h2", { class: "entrance__title", text: shortPlace(entrance.name) }), parts);
}

function show(answer) {
  const sections = [];
  if (answer.devices.length) {
    sections.push(el("section", { class: "entrance card stack", dataset: { entrance: answer.building.id } },
      el("h2", { class: "entrance__title", text: t("manager.js.devices.building") }),
      el("ul", { class: "device-grid" }, answer.devices.map((device) => deviceCard(device, 3)))));
  }
  sections.push(...answer.entrances.map(entranceSection));
  layout.replaceChildren(...sections);
  summary.textContent = t("manager.js.devices.summary", answer.counts);
}

async function load() {
  try {
    show(await get(`/api/buildings/${encodeURIComponent(building)}/devices`));
    hideError(errorBox);
    stamp(refreshed);
  } catch (failure) {
    showError(errorBox, failure);
  } finally {
    layout.setAttribute("aria-busy", "false");
  }
}

document.getElementById("devices-refresh").addEventListener("click", load);
load();
window.setInterval(load, 30_000);

// One device: its state from the building's device health (GET /api/buildings/{id}/devices)
// and, per number or true/false point, a chart of its history
// (GET /api/devices/{id}/points/{point}/history) over the period chosen.

import { get } from "./api.js";
import { el, hideError, showError, t } from "./dom.js";
import { chart, describe, formatValue, valuesTable } from "./manager-chart.js";
import { availabilityBadge, batteryBadge, fact, formatTime, pointLabel } from "./manager-common.js";

const page = document.getElementById("device-page");
const deviceId = page.dataset.device;
const building = page.dataset.building;
const stateList = document.getElementById("device-state");
const stateError = document.getElementById("device-error");
const range = document.getElementById("history-range");

function findDevice(answer) {
  const all = [...answer.devices];
  for (const entrance of answer.entrances) {
    all.push(...entrance.devices);
    for (const floor of entrance.floors) all.push(...floor.devices);
  }
  return all.find((device) => device.id === deviceId) || null;
}

function lastValue(point) {
  if (point.value === null || point.value === undefined) return t("manager.js.empty_value");
  if (point.type === "bool") return point.value ? t("manager.js.chart.true") : t("manager.js.chart.false");
  if (point.type === "number") return formatValue({ type: "number", unit: point.unit }, point.value);
  return String(point.value);
}

function showState(device) {
  const facts = [
    fact(t("manager.js.device.availability"), availabilityBadge(device.availability),
      device.since ? ` ${t("manager.js.devices.since", { time: formatTime(device.since) })}` : ""),
    fact(t("manager.js.device.last_seen"), el("span", { dataset: { role: "last-seen" } },
      device.last_seen ? formatTime(device.last_seen) : t("manager.js.devices.never_seen"))),
  ];
  const battery = batteryBadge(device.battery);
  if (battery) facts.push(fact(t("manager.js.device.battery"), battery));
  const values = el("ul", { class: "point-values" }, device.points.map((point) => el("li", { dataset: { point: point.name } },
    el("span", { class: "point-values__name", text: pointLabel(point.name) }), " ",
    el("strong", { class: "point-values__value", text: lastValue(point) }),
    point.at ? el("span", { class: "muted", text: ` · ${formatTime(point.at)}` }) : null)));
  facts.push(fact(t("manager.js.device.values"), values));
  stateList.replaceChildren(...facts.flat());
}

async function loadState() {
  try {
    const device = findDevice(await get(`/api/buildings/${encodeURIComponent(building)}/devices`));
    if (device) showState(device);
    hideError(stateError);
  } catch (failure) {
    showError(stateError, failure);
  } finally {
    stateList.setAttribute("aria-busy", "false");
  }
}

// The last history of each chart, drawn again at the new width when the window changes.
const histories = new Map();
const requests = new Map();

function draw(section, history) {
  const plot = section.querySelector("[data-role=plot]");
  const drawn = chart(history, {
    label: section.dataset.label, range: range.selectedOptions[0].textContent, width: plot.clientWidth,
  });
  plot.replaceChildren(drawn || el("p", { class: "chart__empty muted", dataset: { role: "empty" }, text: t("manager.js.chart.empty") }));
  return drawn;
}

async function loadChart(section) {
  const plot = section.querySelector("[data-role=plot]");
  const caption = section.querySelector("[data-role=caption]");
  const error = section.querySelector("[data-role=error]");
  const table = section.querySelector("[data-role=table]");
  const label = section.dataset.label;
  const seconds = Number(range.value);
  const now = Date.now() / 1000;
  const asked = (requests.get(section) || 0) + 1;  // an older answer arriving late is dropped
  requests.set(section, asked);
  plot.setAttribute("aria-busy", "true");
  try {
    const history = await get(`/api/devices/${encodeURIComponent(deviceId)}/points/${encodeURIComponent(section.dataset.point)}/history`,
      { from: Math.floor(now - seconds), to: Math.ceil(now) });
    if (requests.get(section) !== asked) return;
    hideError(error);
    histories.set(section, history);
    const drawn = draw(section, history);
    caption.textContent = drawn ? describe(history) : "";
    table.hidden = !drawn;
    table.querySelector(".table-scroll")?.remove();
    if (drawn) table.append(valuesTable(history, label));
  } catch (failure) {
    showError(error, failure);
  } finally {
    if (requests.get(section) === asked) plot.setAttribute("aria-busy", "false");
  }
}

const charts = () => [...document.querySelectorAll(".chart[data-point]")];
const loadCharts = () => Promise.all(charts().map(loadChart));

range?.addEventListener("change", loadCharts);
let resizing = null;
let drawnWidth = window.innerWidth;
window.addEventListener("resize", () => {
  window.clearTimeout(resizing);
  resizing = window.setTimeout(() => {
    if (window.innerWidth === drawnWidth) return;
    drawnWidth = window.innerWidth;
    for (const [section, history] of histories) draw(section, history);
  }, 200);
});
loadState();
loadCharts();
window.setInterval(loadState, 30_000);
window.setInterval(loadCharts, 60_000);

// What the managers' pages share: badges, short place names, times, numbers.
//
// severityBadge(severity), stateBadge(state)   the board's badges
// shortPlace(name)        "Entrée B, sous-sol" of "Résidence Les Lilas, Entrée B, sous-sol"
// formatTime(iso)         a time of today as "10:42", another day with its date
// formatNumber(value, digits)   in the reader's language ("20,5")
// fact(label, ...value)   a <dt>/<dd> pair for a <dl class="facts">
// stamp(node)             "Updated at 10:42" in node
// plural(key, count)      t(`${key}.one`) or t(`${key}.other`), as the language counts
// labelOr(key, fallback)  a catalogue text, or fallback for a name it does not know
//                         (a device kind or point added after these pages)

import { el, formatDateTime, lang, t } from "./dom.js";

const SEVERITY_TONE = { critical: "critical", major: "critical", minor: "warning", warning: "warning", info: "info" };

export function severityBadge(severity) {
  const tone = SEVERITY_TONE[severity] || "info";
  return el("span", { class: `badge badge--${tone}`, dataset: { role: "severity" }, text: t(`manager.js.severity.${severity}`) });
}

export function stateBadge(state) {
  const tone = { active: "active", acknowledged: "acknowledged", cleared: "resolved" }[state] || "info";
  return el("span", { class: `badge badge--${tone}`, dataset: { role: "state" }, text: t(`manager.js.state.${state}`) });
}

export function shortPlace(name) {
  const at = String(name || "").indexOf(", ");
  return at === -1 ? String(name || "") : name.slice(at + 2);
}

const timeOnly = new Intl.DateTimeFormat(lang, { timeStyle: "short" });

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(typeof iso === "number" ? iso * 1000 : iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeOnly.format(date) : formatDateTime(date.toISOString());
}

const numberFormats = new Map();

export function formatNumber(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return t("manager.js.empty_value");
  if (!numberFormats.has(digits)) numberFormats.set(digits, new Intl.NumberFormat(lang, { maximumFractionDigits: digits }));
  return numberFormats.get(digits).format(Number(value));
}

export function fact(label, ...value) {
  return [el("dt", { text: label }), el("dd", {}, ...value)];
}

export function stamp(node) {
  if (node) node.textContent = t("manager.js.refreshed", { time: timeOnly.format(new Date()) });
}

export function labelOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

export function kindLabel(kind) {
  return labelOr(`manager.js.kind.${kind}`, kind);
}

export function pointLabel(point) {
  return labelOr(`manager.js.point.${point}`, point);
}

export function availabilityBadge(state) {
  const tone = { online: "ok", offline: "critical", unknown: "neutral" }[state] || "neutral";
  return el("span", { class: `badge badge--${tone}`, dataset: { role: "availability", state }, text: t(`manager.js.availability.${state}`) });
}

// A device's battery as a badge, or null for a device without one.
export function batteryBadge(battery) {
  if (!battery) return null;
  const low = battery.low === true || (typeof battery.percent === "number" && battery.percent < 20);
  const text = typeof battery.percent === "number"
    ? t("manager.js.devices.battery", { percent: formatNumber(battery.percent, 0) })
    : (battery.low ? t("manager.js.devices.battery_low") : null);
  if (!text) return null;
  return el("span", { class: `badge ${low ? "badge--warning" : "badge--ok"}`, dataset: { role: "battery" }, text: low && typeof battery.percent === "number" ? `${text} · ${t("manager.js.devices.battery_low")}` : text });
}

const plurals = new Intl.PluralRules(lang);

export function plural(key, count, values = {}) {
  const form = plurals.select(count) === "one" ? "one" : "other";
  return t(`${key}.${form}`, { count, ...values });
}

// Small DOM and text helpers shared by every page's script.
//
// t(key, values)        the page's text in the reader's language ({name} placeholders)
// el(tag, attrs, ...)   build an element; text goes in as text, never as HTML
// clear(node)           remove a node's children
// formatDateTime(iso), formatDate(isoDate)   in the reader's language and time zone
// announce(message, {assertive})             read out by screen readers
// showError(node, error), hideError(node)    an error box (ApiError or any Error)
// showFieldErrors(form, errors)              422 errors next to the inputs they name

const strings = JSON.parse(document.getElementById("palier-strings")?.textContent || "{}");

export const lang = document.documentElement.lang || "fr";

export function t(key, values = {}) {
  const text = strings[key];
  if (text === undefined) {
    console.warn(`palier: no text for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });

export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

export function formatDate(isoDate) {
  if (!isoDate) return "";
  // A bare date is a calendar day, not midnight UTC.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(isoDate) ? new Date(`${isoDate}T12:00:00`) : new Date(isoDate);
  return Number.isNaN(date.getTime()) ? String(isoDate) : dateOnly.format(date);
}

export function announce(message, { assertive = false } = {}) {
  const region = document.getElementById(assertive ? "announcer-assertive" : "announcer-polite");
  if (!region) return;
  region.textContent = "";
  // A change after a tick is what screen readers notice.
  window.setTimeout(() => { region.textContent = message; }, 50);
}

export function errorText(error) {
  if (error && error.status === 0) return t("js.error.network");
  if (error && error.status === 403) return t("js.error.forbidden", { detail: error.message });
  return t("js.error.generic", { detail: error?.message || String(error) });
}

export function showError(node, error) {
  node.textContent = typeof error === "string" ? error : errorText(error);
  node.hidden = false;
}

export function hideError(node) {
  node.textContent = "";
  node.hidden = true;
}

// errors: [{loc: ["body", "data", "capacity"], msg}] as the API's 422 answers them.
export function showFieldErrors(form, errors) {
  for (const box of form.querySelectorAll("[data-error-for]")) {
    box.hidden = true;
    box.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  let first = null;
  for (const error of errors || []) {
    const loc = (error.loc || []).filter((part) => part !== "body");
    const name = loc.join(".");
    const box = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const input = form.querySelector(`[name="${CSS.escape(name)}"]:not([disabled])`);
    if (!box) continue;
    box.textContent = error.msg;
    box.hidden = false;
    box.id ||= `error-${name.replace(/\W/g, "-")}`;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", box.id);
      first ||= input;
    }
  }
  first?.focus();
  return first !== null;
}

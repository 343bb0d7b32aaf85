// What the installer pages share: the gateway's times (seconds since the epoch) and
// sizes in the reader's language.
//
// moment(seconds)           a <time> with the date and time to the second
// ago(seconds, now)         a <time> saying "12 s ago", the full time as its title
// bytes(count), number(n)   formatted for the reader

import { el, lang } from "./dom.js";

const full = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
const byteFormat = new Intl.NumberFormat(lang, { style: "unit", unit: "byte", unitDisplay: "short" });
const numberFormat = new Intl.NumberFormat(lang);

export function moment(seconds) {
  const date = new Date(seconds * 1000);
  return el("time", { datetime: date.toISOString(), text: full.format(date) });
}

export function fullTime(seconds) {
  return full.format(new Date(seconds * 1000));
}

export function ago(seconds, now) {
  const age = Math.max(0, Math.round(now - seconds));
  const text = age < 60 ? relative.format(-age, "second")
    : age < 3600 ? relative.format(-Math.floor(age / 60), "minute")
      : age < 86400 ? relative.format(-Math.floor(age / 3600), "hour")
        : relative.format(-Math.floor(age / 86400), "day");
  const date = new Date(seconds * 1000);
  return el("time", { datetime: date.toISOString(), title: full.format(date), text });
}

export const bytes = (count) => byteFormat.format(count);
export const number = (value) => numberFormat.format(value);

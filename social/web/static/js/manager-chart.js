// A point's history as an inline SVG chart, and the same values as a table.
//
// chart(history, {label, range, width})  an <svg role="img"> (title and description
//                                  inside) for the answer of GET /api/devices/{id}/points/
//                                  {p}/history, or null when it holds no value; drawn at
//                                  `width` pixels so its text keeps its size on a phone
// describe(history)                the sentence the chart's description and caption say
// valuesTable(history, label)      a <table> of every bucket (time, mean, min, max, count)
//
// Numbers: the mean of each bucket as a line (broken where buckets are missing), the
// min–max band behind it, a dot per bucket. True/false points: a step line of each
// bucket's last value. No library and no request: built with the DOM, styled by
// manager.css (classes chart__*).

import { el, lang, t } from "./dom.js";
import { formatNumber, plural } from "./manager-common.js";

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 14, right: 14, bottom: 34, left: 52 };
// Dots are drawn up to this many buckets; past it the line says enough.
const MAX_DOTS = 400;

let serial = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const isFlag = (history) => history.type === "bool";

export function formatValue(history, value) {
  if (value === null || value === undefined) return t("manager.js.empty_value");
  if (isFlag(history)) return Number(value) >= 0.5 ? t("manager.js.chart.true") : t("manager.js.chart.false");
  const text = formatNumber(value, Math.abs(value) >= 100 ? 0 : 1);
  return history.unit ? `${text} ${history.unit}` : text;
}

// The axis' times: the hour over a few hours, the day too over a day or two, the date past.
function axisFormat(seconds) {
  if (seconds > 2 * 86_400) return new Intl.DateTimeFormat(lang, { day: "numeric", month: "short" });
  if (seconds > 12 * 3600) return new Intl.DateTimeFormat(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
}

const moment = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });

function formatEvery(seconds) {
  const [unit, size] = seconds % 86_400 === 0 ? ["day", 86_400]
    : seconds % 3600 === 0 ? ["hour", 3600]
      : seconds % 60 === 0 ? ["minute", 60] : ["second", 1];
  return new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "long" }).format(seconds / size);
}

// A nice step for about `count` ticks over `span`.
function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function domain(history) {
  if (isFlag(history)) return [0, 1];
  let low = Math.min(...history.points.map((p) => p.min));
  let high = Math.max(...history.points.map((p) => p.max));
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  const step = niceStep(high - low, 4);
  return [Math.floor(low / step) * step, Math.ceil(high / step) * step];
}

function ticks(history, [low, high]) {
  if (isFlag(history)) return [0, 1];
  const step = niceStep(high - low, 4);
  const values = [];
  for (let value = low; value <= high + step / 2; value += step) values.push(Number(value.toPrecision(12)));
  return values;
}

export function describe(history) {
  const values = history.points;
  const flag = isFlag(history);
  return t("manager.js.chart.desc", {
    values: plural("manager.js.chart.values", values.length),
    from: moment.format(new Date(history.from * 1000)),
    to: moment.format(new Date(history.to * 1000)),
    min: formatValue(history, Math.min(...values.map((p) => (flag ? p.last : p.min)))),
    max: formatValue(history, Math.max(...values.map((p) => (flag ? p.last : p.max)))),
    last: formatValue(history, values[values.length - 1].last),
  }) + " " + t("manager.js.chart.every", { every: formatEvery(history.every_seconds) });
}

export function chart(history, { label, range, width = 640 }) {
  const points = history.points;
  if (!points.length) return null;
  const id = `chart-${++serial}`;
  const WIDTH = Math.max(260, Math.round(width));
  const HEIGHT = Math.round(Math.min(300, Math.max(180, WIDTH * 0.4)));
  const [low, high] = domain(history);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const span = Math.max(1, history.to - history.from);
  const x = (ts) => MARGIN.left + (Math.min(Math.max(ts + history.every_seconds / 2, history.from), history.to) - history.from) / span * plotWidth;
  const y = (value) => MARGIN.top + (1 - (value - low) / (high - low)) * plotHeight;
  const flag = isFlag(history);
  const valueOf = (p) => (flag ? (p.last >= 0.5 ? 1 : 0) : p.mean);
  const gap = history.every_seconds * 2.5;

  // Runs of consecutive buckets: a missing bucket breaks the line.
  const runs = [];
  points.forEach((p, index) => {
    if (index === 0 || p.t - points[index - 1].t > gap) runs.push([]);
    runs[runs.length - 1].push(p);
  });

  const grid = ticks(history, [low, high]).map((value) => svg("g", { class: "chart__tick" },
    svg("line", { class: "chart__grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
    svg("text", { class: "chart__label", x: MARGIN.left - 6, y: y(value), "text-anchor": "end", "dominant-baseline": "middle" },
      flag ? (value ? t("manager.js.chart.true") : t("manager.js.chart.false")) : formatNumber(value, 2))));
  const format = axisFormat(span);
  const marks = plotWidth > 320 ? [0, 0.5, 1] : [0, 1];
  const times = marks.map((share) => svg("text", {
    class: "chart__label", x: MARGIN.left + share * plotWidth, y: HEIGHT - 10,
    "text-anchor": share === 0 ? "start" : share === 1 ? "end" : "middle",
  }, format.format(new Date((history.from + share * span) * 1000))));

  const shapes = [];
  for (const run of runs) {
    if (!flag && run.some((p) => p.count > 1 && p.max > p.min)) {
      const top = run.map((p) => `${x(p.t).toFixed(1)},${y(p.max).toFixed(1)}`);
      const bottom = run.slice().reverse().map((p) => `${x(p.t).toFixed(1)},${y(p.min).toFixed(1)}`);
      shapes.push(svg("polygon", { class: "chart__band", points: [...top, ...bottom].join(" ") }));
    }
    let d = `M${x(run[0].t).toFixed(1)},${y(valueOf(run[0])).toFixed(1)}`;
    for (const p of run.slice(1)) {
      d += flag ? `H${x(p.t).toFixed(1)}V${y(valueOf(p)).toFixed(1)}` : `L${x(p.t).toFixed(1)},${y(valueOf(p)).toFixed(1)}`;
    }
    shapes.push(svg("path", { class: "chart__line", d }));
  }
  const timeAndDate = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  const dots = points.length > MAX_DOTS ? [] : points.map((p) => svg("circle", {
    class: "chart__point", cx: x(p.t).toFixed(1), cy: y(valueOf(p)).toFixed(1), r: 3.5,
    "data-t": p.t, "data-value": valueOf(p),
  }, svg("title", {}, `${timeAndDate.format(new Date(p.t * 1000))} : ${formatValue(history, flag ? p.last : p.mean)}`)));

  return svg("svg", {
    class: "chart__svg", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`, focusable: "false",
  },
  svg("title", { id: `${id}-title` }, t("manager.js.chart.title", { point: label, range })),
  svg("desc", { id: `${id}-desc` }, describe(history)),
  svg("rect", { class: "chart__area", x: MARGIN.left, y: MARGIN.top, width: plotWidth, height: plotHeight }),
  grid, times, shapes, dots);
}

export function valuesTable(history, label) {
  const flag = isFlag(history);
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });
  const heads = flag
    ? ["manager.js.chart.time", "manager.js.chart.value", "manager.js.chart.mean", "manager.js.chart.count"]
    : ["manager.js.chart.time", "manager.js.chart.mean", "manager.js.chart.min", "manager.js.chart.max", "manager.js.chart.count"];
  const rows = history.points.map((p) => el("tr", {},
    el("th", { scope: "row" }, el("time", { datetime: new Date(p.t * 1000).toISOString(), text: when.format(new Date(p.t * 1000)) })),
    flag
      ? [el("td", { text: formatValue(history, p.last) }),
        el("td", { text: t("manager.js.chart.share_true", { percent: formatNumber(p.mean * 100, 0) }) })]
      : [el("td", { text: formatValue(history, p.mean) }), el("td", { text: formatValue(history, p.min) }),
        el("td", { text: formatValue(history, p.max) })],
    el("td", { class: "chart__count", text: String(p.count) })));
  return el("div", { class: "table-scroll" },
    el("table", { class: "values-table" },
      el("caption", { class: "visually-hidden", text: label }),
      el("thead", {}, el("tr", {}, heads.map((key) => el("th", { scope: "col", text: t(key) })))),
      el("tbody", {}, rows)));
}

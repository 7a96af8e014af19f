// Reading /metrics in tests. The text must satisfy an independent parser
// (parse-prometheus-text-format) and this strict one, which checks what that parser does not:
// every line's grammar, HELP and TYPE before a family's samples, no family twice, histogram
// buckets cumulative and ending in +Inf equal to _count. (The package flattens labelled
// histograms into one, so values are read from this parser.)
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface Series {
  labels: Record<string, string>;
  value: number;
}
export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: [number, number][];
  sum: number;
  count: number;
}
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  series: Series[];
  histograms: HistogramSeries[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function parseValue(raw: string, line: string): number {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  const n = Number(raw);
  if (raw === "" || Number.isNaN(n)) throw new Error(`bad value in: ${line}`);
  return n;
}

export function parseMetrics(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  parsePrometheusTextFormat(text); // throws on what it cannot read
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const histo = new Map<string, HistogramSeries>();
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "HELP") {
        if (families.has(name)) throw new Error(`family ${name} appears twice`);
        current = { name, type: "counter", help: rest, series: [], histograms: [] };
        families.set(name, current);
      } else {
        if (current?.name !== name) throw new Error(`TYPE of ${name} without its HELP first`);
        if (rest !== "counter" && rest !== "gauge" && rest !== "histogram") throw new Error(`unknown type: ${line}`);
        current.type = rest;
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m || !current) throw new Error(`not a valid exposition line: ${line}`);
    const [, name, , labelText, rawValue] = m as unknown as [string, string, string, string | undefined, string];
    const labels = parseLabels(labelText, line);
    const value = parseValue(rawValue, line);
    if (current.type !== "histogram") {
      if (name !== current.name) throw new Error(`sample ${name} outside its family ${current.name}`);
      current.series.push({ labels, value });
      continue;
    }
    const suffix = name.slice(current.name.length);
    if (!name.startsWith(current.name) || !["_bucket", "_sum", "_count"].includes(suffix)) {
      throw new Error(`sample ${name} outside its family ${current.name}`);
    }
    const { le, ...rest } = labels;
    const key = `${current.name}|${JSON.stringify(rest)}`;
    let h = histo.get(key);
    if (!h) {
      h = { labels: rest, buckets: [], sum: Number.NaN, count: Number.NaN };
      histo.set(key, h);
      current.histograms.push(h);
    }
    if (suffix === "_bucket") h.buckets.push([parseValue(le ?? "", line), value]);
    else if (suffix === "_sum") h.sum = value;
    else h.count = value;
  }
  for (const h of histo.values()) {
    const counts = h.buckets.map(([, n]) => n);
    if (counts.some((n, i) => i > 0 && n < counts[i - 1]!)) throw new Error("histogram buckets must be cumulative");
    if (h.buckets.at(-1)?.[0] !== Number.POSITIVE_INFINITY || counts.at(-1) !== h.count) {
      throw new Error('a histogram must end with le="+Inf" equal to its _count');
    }
  }
  return families;
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** A counter's or gauge's value for exactly these labels (0 when the series is absent). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  return family.series.find((s) => sameLabels(s.labels, labels))?.value ?? 0;
}

/** A histogram's series for exactly these labels. */
export function histogramOf(families: Map<string, Family>, name: string, labels: Record<string, string>) {
  const family = families.get(name);
  if (family?.type !== "histogram") throw new Error(`no histogram ${name}`);
  return family.histograms.find((h) => sameLabels(h.labels, labels));
}

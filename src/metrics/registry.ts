// A small Prometheus registry: counters, histograms and scrape-time gauges, written out in
// the text exposition format 0.0.4. Hand-rolled because Posthorn needs only these three kinds
// and this page is smaller than a dependency (prom-client also brings its own process and GC
// collectors, which mean little inside one compiled Bun binary).
export type LabelValues = Record<string, string>;

interface Instrument {
  readonly name: string;
  expose(): Promise<string[]> | string[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const formatValue = (n: number) => (n === Number.POSITIVE_INFINITY ? "+Inf" : String(n));

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

abstract class Labelled<S> implements Instrument {
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: "counter" | "histogram",
  ) {}

  protected entry(labels: LabelValues): S {
    const values = this.labelNames.map((n) => labels[n] ?? "");
    const key = values.join("\u0000");
    let e = this.series.get(key);
    if (!e) {
      e = { values, state: this.fresh() };
      this.series.set(key, e);
    }
    return e.state;
  }

  protected abstract fresh(): S;
  protected abstract lines(values: string[], state: S): string[];

  expose(): string[] {
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) out.push(...this.lines(values, state));
    return out;
  }
}

export class Counter extends Labelled<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, "counter");
  }
  inc(labels: LabelValues = {}, by = 1): void {
    this.entry(labels).value += by;
  }
  /** Shows the series at 0 before its first event, so rate() has a starting point. */
  init(labels: LabelValues = {}): void {
    this.entry(labels);
  }
  get(labels: LabelValues = {}): number {
    return this.entry(labels).value;
  }
  protected fresh() {
    return { value: 0 };
  }
  protected lines(values: string[], s: { value: number }) {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.value)}`];
  }
}

export class Histogram extends Labelled<{ counts: number[]; sum: number; count: number }> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, "histogram");
  }
  observe(labels: LabelValues, value: number): void {
    const s = this.entry(labels);
    s.sum += value;
    s.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) s.counts[i]! += 1;
  }
  protected fresh() {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  protected lines(values: string[], s: { counts: number[]; sum: number; count: number }) {
    const out = this.buckets.map(
      (le, i) => `${this.name}_bucket${labelText(this.labelNames, values, `le="${formatValue(le)}"`)} ${s.counts[i]}`,
    );
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${s.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    return out;
  }
}

/** A value read when scraped (queue depth from the database). */
export class Gauge implements Instrument {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly collect: () => Promise<[LabelValues, number][]> | [LabelValues, number][],
  ) {}
  async expose(): Promise<string[]> {
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`];
    for (const [labels, value] of await this.collect()) {
      out.push(
        `${this.name}${labelText(
          this.labelNames,
          this.labelNames.map((n) => labels[n] ?? ""),
        )} ${formatValue(value)}`,
      );
    }
    return out;
  }
}

export class Registry {
  readonly #instruments: Instrument[] = [];

  register<T extends Instrument>(instrument: T): T {
    if (this.#instruments.some((i) => i.name === instrument.name)) {
      throw new Error(`metrics: ${instrument.name} is registered twice`);
    }
    this.#instruments.push(instrument);
    return instrument;
  }

  /** The whole exposition, every instrument in registration order. */
  async expose(): Promise<string> {
    const blocks = await Promise.all(this.#instruments.map((i) => i.expose()));
    return `${blocks.flat().join("\n")}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Reading `GET /metrics` in tests: a strict parser of the Prometheus text format 0.0.4, so that a
 * test that reads a scrape with it also checks that the exposition is well formed.
 */

/** One sample of a scrape. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its TYPE, HELP and samples. */
export interface Family {
  readonly type: string;
  help: string | null;
  readonly samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case). */
function parseValue(v: string): number {
  if (/^\+?inf$/i.test(v)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(v)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(v)) return Number.NaN; // prom-client writes NaN as `Nan`
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value ${v}`);
  return Number(v);
}

/**
 * A strict reader of the Prometheus text format 0.0.4: every line a HELP, a TYPE, or a sample of
 * a family declared by a TYPE line before it (a histogram's `_bucket`, `_sum`, `_count`), label
 * values quoted with only `\\`, `\"` and `\n` escapes, values floats; a histogram's buckets
 * cumulative and ending in `+Inf` equal to its count. Throws on anything else.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      const f = families.get(help[1]) ?? { type: '', help: null, samples: [] };
      f.help = help[2];
      families.set(help[1], f);
      continue;
    }
    if (type) {
      const f = families.get(type[1]);
      if (f && f.type !== '') throw new Error(`second TYPE for ${type[1]}`);
      families.set(type[1], { type: type[2], help: f?.help ?? null, samples: f?.samples ?? [] });
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unknown comment line: ${line}`);
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', value] = m;
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`bad labels in: ${line}`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const family =
      families.get(name) ??
      families.get(name.replace(/_(bucket|sum|count)$/, '')) ??
      (() => {
        throw new Error(`sample ${name} of no declared family`);
      })();
    if (family.type === '') throw new Error(`sample ${name} before its TYPE`);
    family.samples.push({ name, labels, value: parseValue(value) });
  }
  for (const [name, f] of families) {
    if (f.type === '') throw new Error(`${name} has HELP but no TYPE`);
    if (f.type !== 'histogram') continue;
    // Per series (the labels other than le): buckets cumulative, the last +Inf, equal to the count.
    const key = (x: Sample) => JSON.stringify(Object.entries(x.labels).filter(([k]) => k !== 'le'));
    for (const count of f.samples.filter((x) => x.name === `${name}_count`)) {
      const buckets = f.samples.filter((x) => x.name === `${name}_bucket` && key(x) === key(count));
      if (buckets.at(-1)?.labels.le !== '+Inf') throw new Error(`${name}: no +Inf bucket`);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i].value < buckets[i - 1].value) throw new Error(`${name}: buckets decrease`);
      }
      if (buckets.at(-1)?.value !== count.value) throw new Error(`${name}: +Inf is not the count`);
    }
  }
  return families;
}

/**
 * The value of the one sample `name` whose labels are exactly `labels` (a histogram's `_bucket`,
 * `_sum` and `_count` are found in their family). Throws when the metric or sample is absent.
 */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
) {
  const f = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  if (!f) throw new Error(`no metric ${name}`);
  const s = f.samples.find(
    (x) =>
      x.name === name &&
      Object.keys(labels).every((k) => x.labels[k] === labels[k]) &&
      Object.keys(x.labels).length === Object.keys(labels).length,
  );
  if (!s) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return s.value;
}

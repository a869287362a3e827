/**
 * docs/experiment.md cannot drift from the schema: every field of every object of the
 * experiment file's JSON Schema has a row in its section, with the schema's default and range,
 * and every row names a field the schema has.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkExperiment } from './load.ts';
import { experimentJsonSchema } from './schema.ts';

const DOC = fileURLToPath(new URL('../../docs/experiment.md', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/coop-study/study.yaml', import.meta.url));
const doc = readFileSync(DOC, 'utf8');

/** A JSON Schema node, as much of it as the checks read. */
interface Node {
  type?: string;
  properties?: Record<string, Node>;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  enum?: string[];
  const?: string;
  items?: Node & { oneOf?: Node[] };
  additionalProperties?: Node | boolean;
}

const root = experimentJsonSchema() as Node;
const props = (n: Node): Record<string, Node> => n.properties ?? {};
const scenes = props(root).scenes.items?.oneOf ?? [];
const sceneOf = (kind: string) => scenes.find((s) => props(s).kind.const === kind) as Node;
const questions = props(sceneOf('survey')).questions.items?.oneOf ?? [];
const questionOf = (type: string) => questions.find((q) => props(q).type.const === type) as Node;
const level = (props(root).conditions.additionalProperties as Node).items as Node;

/** Each section of the doc and the schema object its table documents. */
const SECTIONS: [heading: string, node: Node][] = [
  ['Top level', root],
  ['Conditions', level],
  ['Info scene', sceneOf('info')],
  ['Game scene', sceneOf('game')],
  ['Survey scene', sceneOf('survey')],
  ['Likert question', questionOf('likert')],
  ['Choice question', questionOf('choice')],
  ['Text question', questionOf('text')],
  ['End scene', sceneOf('end')],
];

interface Field {
  path: string;
  node: Node;
  required: boolean;
}

/** Every field of an object, nested objects' fields as `parent.child` after the parent. */
function fields(node: Node, prefix = ''): Field[] {
  const out: Field[] = [];
  for (const [name, child] of Object.entries(props(node))) {
    const path = prefix + name;
    out.push({ path, node: child, required: node.required?.includes(name) ?? false });
    if (child.type === 'object' && child.properties) out.push(...fields(child, `${path}.`));
  }
  return out;
}

interface Row {
  field: string;
  type: string;
  default: string;
}

/** The table rows of the section under `## heading` or `### heading`. */
function rows(heading: string): Row[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^#{2,3} /.test(l) && l.replace(/^#+ /, '') === heading);
  expect(start, `a section "${heading}" in docs/experiment.md`).toBeGreaterThanOrEqual(0);
  const out: Row[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,3} /.test(line)) break;
    const m = /^\| `([^`]+)` \|(.*)$/.exec(line);
    if (m === null) continue;
    const cells = m[2].split(' | ').map((c) => c.trim());
    out.push({ field: m[1], type: cells[0], default: cells[1] });
  }
  return out;
}

function expectedDefault(f: Field): string {
  if ('default' in f.node) return `\`${JSON.stringify(f.node.default).replace(/^"|"$/g, '')}\``;
  return f.required ? 'required' : '—';
}

/** What the type-and-range cell must mention: the integer, length or count range, the values. */
function expectedMentions(n: Node): string[] {
  const out: string[] = [];
  if (n.type === 'integer' && n.minimum !== undefined && n.maximum !== undefined)
    out.push(`${n.minimum}–${n.maximum}`);
  if (n.type === 'string' && n.minLength !== undefined && n.maxLength !== undefined)
    out.push(`${n.minLength}–${n.maxLength}`);
  if (n.type === 'array' && n.minItems !== undefined && n.maxItems !== undefined)
    out.push(`${n.minItems}–${n.maxItems}`);
  if (n.type === 'array' && n.items?.type === 'string') out.push(...expectedMentions(n.items));
  for (const v of n.enum ?? []) out.push(`\`${v}\``);
  if (n.const !== undefined) out.push(`\`${n.const}\``);
  return out;
}

describe('docs/experiment.md', () => {
  for (const [heading, node] of SECTIONS) {
    it(`documents every field of "${heading}" with its default and range, and no other`, () => {
      const documented = rows(heading);
      const schemaFields = fields(node);
      expect(documented.map((r) => r.field).sort()).toEqual(schemaFields.map((f) => f.path).sort());
      for (const f of schemaFields) {
        const row = documented.find((r) => r.field === f.path) as Row;
        expect(row.default, `${heading}: default of ${f.path}`).toBe(expectedDefault(f));
        for (const m of expectedMentions(f.node)) {
          expect(row.type, `${heading}: range of ${f.path}`).toContain(m);
        }
      }
    });
  }

  it('covers every scene kind and question type the schema has', () => {
    expect(scenes.map((s) => props(s).kind.const).sort()).toEqual([
      'end',
      'game',
      'info',
      'survey',
    ]);
    expect(questions.map((q) => props(q).type.const).sort()).toEqual(['choice', 'likert', 'text']);
  });

  it('shows an example that is a valid experiment', () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    const e = checkExperiment(parse(block?.[1] ?? ''), EXAMPLE);
    expect(e.scenes.map((s) => s.id)).toEqual(['consent', 'arena', 'post', 'done']);
  });
});

/**
 * Writes the experiment file's JSON Schema, for editors, to `docs/experiment.schema.json`:
 *
 *     npx tsx relay/experiment/write-json-schema.ts
 *
 * Run it after changing `schema.ts`; `schema.test.ts` fails while the committed file differs.
 * The file is then formatted by Biome (as `npx biome check` wants it), so the test compares
 * the parsed JSON, not the text.
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { experimentJsonSchema } from './schema.ts';

/** Where the committed JSON Schema lives. */
export const JSON_SCHEMA_PATH = fileURLToPath(
  new URL('../../docs/experiment.schema.json', import.meta.url),
);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(JSON_SCHEMA_PATH, `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`);
  execFileSync('npx', ['biome', 'format', '--write', JSON_SCHEMA_PATH], { stdio: 'inherit' });
  console.log(`wrote ${JSON_SCHEMA_PATH}`);
}

/**
 * The finished matches of a logs directory, for the admin view: each log's header (scene, sim,
 * start, players) and end reason, read from the file's first and last lines only and cached by
 * size and modification time, so that a live admin page costs a `readdir` and a `stat` per log
 * per update, not a read of every log.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ADMIN_PATHS, type AdminFinishedMatch } from '../../protocol/index.ts';
import { isValidMatchId } from '../log/index.ts';

/** Bytes read from a log's end to find its end record. */
const TAIL_BYTES = 4096;

interface Cached {
  readonly size: number;
  readonly mtimeMs: number;
  readonly match: AdminFinishedMatch | null;
}

/** Lists the logs of one directory; see the module comment. */
export class FinishedMatches {
  private readonly cache = new Map<string, Cached>();

  /** @param dir the relay's logs directory */
  constructor(private readonly dir: string) {}

  /** The path of a match's log in the directory, or null for an id that cannot name one. */
  logPath(matchId: string): string | null {
    return isValidMatchId(matchId) ? path.join(this.dir, `${matchId}.jsonl`) : null;
  }

  /**
   * The logged matches that are not in `running`, newest start first, at most `limit`. A log
   * whose header cannot be read is left out (the replay viewer names its damage).
   */
  async list(running: ReadonlySet<string>, limit: number): Promise<AdminFinishedMatch[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return []; // no logs directory yet: no match has been played
    }
    const out: AdminFinishedMatch[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue;
      const matchId = name.slice(0, -'.jsonl'.length);
      if (!isValidMatchId(matchId) || running.has(matchId)) continue;
      seen.add(name);
      const file = path.join(this.dir, name);
      let s: { size: number; mtimeMs: number };
      try {
        s = await stat(file);
      } catch {
        continue;
      }
      let cached = this.cache.get(name);
      if (!cached || cached.size !== s.size || cached.mtimeMs !== s.mtimeMs) {
        cached = {
          size: s.size,
          mtimeMs: s.mtimeMs,
          match: await readSummary(file, matchId, s.size),
        };
        this.cache.set(name, cached);
      }
      if (cached.match) out.push(cached.match);
    }
    for (const name of this.cache.keys()) if (!seen.has(name)) this.cache.delete(name);
    out.sort((a, b) => (a.startTime < b.startTime ? 1 : a.startTime > b.startTime ? -1 : 0));
    return out.slice(0, limit);
  }
}

/** A log's summary from its header line and its last line, or null when the header is unreadable. */
async function readSummary(
  file: string,
  matchId: string,
  size: number,
): Promise<AdminFinishedMatch | null> {
  const first = await firstLine(file);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(first ?? '');
  } catch {
    return null;
  }
  if (header?.type !== 'header' || header.matchId !== matchId) return null;
  const scene = header.scene as { name?: unknown; sim?: unknown } | undefined;
  const players = Array.isArray(header.players)
    ? (header.players as { participantId?: unknown }[]).map((p) =>
        typeof p?.participantId === 'string' ? p.participantId : null,
      )
    : [];
  return {
    matchId,
    scene: String(scene?.name ?? ''),
    sim: String(scene?.sim ?? ''),
    startTime: String(header.startTime ?? ''),
    players,
    endReason: await endReason(file, size),
    bytes: size,
    replay: `${ADMIN_PATHS.replay}${matchId}`,
  };
}

/** The file's first line (without '\n'), or null when it has none. */
function firstLine(file: string): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const stream = createReadStream(file);
    stream.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const nl = b.indexOf(0x0a);
      if (nl >= 0) {
        chunks.push(b.subarray(0, nl));
        stream.destroy();
        resolve(Buffer.concat(chunks).toString('utf8'));
      } else chunks.push(b);
    });
    stream.on('end', () => resolve(null));
    stream.on('error', () => resolve(null));
  });
}

/** The reason of the log's end record (its last line), or null when it has none. */
async function endReason(file: string, size: number): Promise<string | null> {
  const length = Math.min(size, TAIL_BYTES);
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    const text = buf.toString('utf8').trimEnd();
    const last = text.slice(text.lastIndexOf('\n') + 1);
    const r = JSON.parse(last) as { type?: unknown; reason?: unknown };
    return r.type === 'end' && typeof r.reason === 'string' ? r.reason : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

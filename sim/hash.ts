import xxhash from 'xxhash-wasm';
import { ConcordError } from './errors.ts';

type Hasher = Awaited<ReturnType<typeof xxhash>>;
let hasher: Hasher | undefined;

/**
 * Loads the xxhash64 WebAssembly module. Call once (it is idempotent) before
 * {@link stateHash}; the sim runs synchronously afterwards.
 */
export async function initStateHash(): Promise<void> {
  hasher ??= await xxhash();
}

/** True once {@link initStateHash} has completed. */
export function stateHashReady(): boolean {
  return hasher !== undefined;
}

/**
 * The state hash of a canonical state encoding: xxhash64 (seed 0) of the bytes, written as 16
 * lowercase hex digits, the one form in which Concord shows a hash to people and tools.
 * @throws ConcordError `HASH_NOT_READY` before {@link initStateHash} has completed.
 */
export function stateHash(bytes: Uint8Array): string {
  if (!hasher) throw new ConcordError('HASH_NOT_READY', 'call initStateHash() before stateHash()');
  return hasher.h64Raw(bytes).toString(16).padStart(16, '0');
}

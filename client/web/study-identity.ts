/**
 * Who the study page says it is (`hello`, protocol/study.ts): the ids in the page's URL, the
 * participant id the server generated for this browser (kept in `localStorage`, per experiment),
 * and the tab's id (kept in `sessionStorage`, so that a reload is the same tab and a second tab
 * is another).
 */
import { STUDY_ID_MAX_LENGTH, type StudyHello, type StudyView } from '../../protocol/index.ts';

/** `sessionStorage` key of the tab's id. */
export const TAB_ID_KEY = 'concord.study.tab';
/** `localStorage` key of the generated participant ids, by experiment id (a JSON object). */
export const PARTICIPANTS_KEY = 'concord.study.participants';
/** `localStorage` key of the experiment this browser last took part in. */
export const LAST_EXPERIMENT_KEY = 'concord.study.lastExperiment';

/** What the study page needs of a `Storage` (tests pass a stand-in). */
export type StudyStore = Pick<Storage, 'getItem' | 'setItem'>;

/** The URL parameters the page passes on, in `hello`'s names. */
const URL_IDS = ['PROLIFIC_PID', 'STUDY_ID', 'SESSION_ID', 'participant'] as const;

const ID = new RegExp(`^[A-Za-z0-9_-]{1,${STUDY_ID_MAX_LENGTH}}$`);

/**
 * A new tab id: 128 random bits as 32 hex digits.
 * @param random fills a byte array with random bytes (default `crypto.getRandomValues`)
 */
export function newTabId(
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array = (b) => {
    crypto.getRandomValues(b);
    return b;
  },
): string {
  return Array.from(random(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** This tab's id: the one kept in `session`, else a new one, kept there. */
export function tabIdOf(session: StudyStore, make: () => string = newTabId): string {
  const kept = session.getItem(TAB_ID_KEY);
  if (kept !== null && ID.test(kept)) return kept;
  const id = make();
  session.setItem(TAB_ID_KEY, id);
  return id;
}

function storedParticipants(local: StudyStore): Record<string, string> {
  try {
    const v: unknown = JSON.parse(local.getItem(PARTICIPANTS_KEY) ?? '{}');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, string> = {};
    for (const [k, id] of Object.entries(v)) if (typeof id === 'string' && ID.test(id)) out[k] = id;
    return out;
  } catch {
    return {};
  }
}

/**
 * The `hello` of this page: the tab id and the URL's ids as given (`PROLIFIC_PID` with
 * `STUDY_ID` and `SESSION_ID`, or `participant`; the server checks them). Without an id in the
 * URL, the id the server generated for this browser in the experiment it last took part in is
 * sent as `participant`, so that a reload (or a return after closing the tab) finds the same
 * participant; with none, no id (the server generates one).
 * @param search the page URL's query
 * @param local `localStorage`; @param session `sessionStorage`
 */
export function studyHello(
  search: URLSearchParams,
  local: StudyStore,
  session: StudyStore,
): StudyHello {
  const hello: Record<string, string> = { tabId: tabIdOf(session) };
  for (const k of URL_IDS) {
    const v = search.get(k);
    if (v !== null && v !== '') hello[k] = v;
  }
  if (hello.PROLIFIC_PID === undefined && hello.participant === undefined) {
    const last = local.getItem(LAST_EXPERIMENT_KEY);
    const kept = last === null ? undefined : storedParticipants(local)[last];
    if (kept !== undefined) hello.participant = kept;
  }
  return hello as unknown as StudyHello;
}

/** True when the page URL names the participant (`PROLIFIC_PID` or `participant`). */
export function urlNamesParticipant(search: URLSearchParams): boolean {
  return Boolean(search.get('PROLIFIC_PID') || search.get('participant'));
}

/**
 * After the server answered `hello`: notes `view`'s experiment as the last one and, when the URL
 * named nobody (the server generated the id, or it came from this store), keeps the
 * participant's id for that experiment.
 */
export function rememberParticipant(
  local: StudyStore,
  search: URLSearchParams,
  view: StudyView,
): void {
  local.setItem(LAST_EXPERIMENT_KEY, view.experimentId);
  if (urlNamesParticipant(search)) return;
  const stored = storedParticipants(local);
  if (stored[view.experimentId] === view.participantId) return;
  stored[view.experimentId] = view.participantId;
  local.setItem(PARTICIPANTS_KEY, JSON.stringify(stored));
}

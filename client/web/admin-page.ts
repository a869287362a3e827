/**
 * The admin page (`/admin`, behind the admin token): it follows the relay's server-sent events
 * (`/admin/api/events`, one `AdminState` a second) and shows the running matches with each
 * player's ping, rollbacks, stalls and desyncs, the waiting rooms, the study's participants by
 * scene and status (when a study server runs), and the finished matches with a link to their
 * replay. Actions: end a match, remove a participant; each asks for confirmation and a reason,
 * and posts to the admin API with the page's cookie.
 */
import {
  ADMIN_PATHS,
  type AdminMatch,
  type AdminParticipant,
  type AdminState,
} from '../../protocol/index.ts';

const el = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the admin page has no #${id}`);
  return e;
};

function cell(row: HTMLElement, content: string | Node, cls?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  if (typeof content === 'string') td.textContent = content;
  else td.append(content);
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

function link(href: string, label: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  return a;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

/** Posts an action; says what happened in the live line. */
async function act(path: string, reason: string, what: string): Promise<void> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  el('live').textContent = res.ok
    ? `${what}: done.`
    : `${what}: refused (${res.status}${body.error ? `: ${body.error}` : ''}).`;
}

function endMatch(m: AdminMatch): void {
  const reason = prompt(
    `End match ${m.matchId} (${m.scene})? Its players see this reason:`,
    'ended by the administrator',
  );
  if (reason === null || reason.trim() === '') return;
  void act(`${ADMIN_PATHS.matches}${m.matchId}/end`, reason.trim(), `End match ${m.matchId}`);
}

function removeParticipant(p: AdminParticipant): void {
  const reason = prompt(
    `Remove participant ${p.id} from the study? Their study ends now (outcome "removed"), and their page says "The researcher ended your participation." Reason (kept in the database):`,
    'removed by the administrator',
  );
  if (reason === null || reason.trim() === '') return;
  void act(
    `${ADMIN_PATHS.participants}${encodeURIComponent(p.id)}/remove`,
    reason.trim(),
    `Remove participant ${p.id}`,
  );
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function showMatches(s: AdminState): void {
  const body = el('matches');
  body.replaceChildren();
  if (s.matches.length === 0) {
    const row = document.createElement('tr');
    cell(row, 'No match is running.', 'muted').colSpan = 13;
    body.append(row);
  }
  for (const m of s.matches) {
    m.players.forEach((p, i) => {
      const row = document.createElement('tr');
      row.dataset.matchId = m.matchId;
      if (i === 0) {
        const n = m.players.length;
        cell(row, link(`${ADMIN_PATHS.replay}${m.matchId}`, m.matchId)).rowSpan = n;
        cell(row, `${m.scene} (${m.sim}, ${m.mode})`).rowSpan = n;
        cell(row, m.frames > 0 ? `${m.frame} / ${m.frames}` : String(m.frame)).rowSpan = n;
        cell(row, String(m.desyncs), m.desyncs > 0 ? 'error' : '').rowSpan = n;
      }
      cell(row, String(p.slot));
      cell(row, p.participantId ?? '–');
      cell(row, p.status, p.status === 'connected' ? 'ok' : 'error');
      cell(row, p.peer ? `${Math.round(p.peer.rttMs)} ms` : '–');
      cell(row, p.peer ? String(p.peer.rollbacks) : '–');
      cell(row, p.peer ? String(p.peer.stalls) : '–');
      cell(row, p.inputPath);
      cell(row, seconds(p.silentMs));
      if (i === 0)
        cell(
          row,
          button('End match', () => endMatch(m)),
        ).rowSpan = m.players.length;
      body.append(row);
    });
  }
}

function showWaiting(s: AdminState): void {
  const body = el('waiting');
  body.replaceChildren();
  if (s.waiting.length === 0) {
    const row = document.createElement('tr');
    cell(row, 'Nobody is waiting.', 'muted').colSpan = 3;
    body.append(row);
  }
  for (const w of s.waiting) {
    const row = document.createElement('tr');
    cell(row, w.scene);
    cell(row, `${w.waiting.length} of ${w.players}`);
    cell(row, w.waiting.map((id) => id ?? 'anonymous').join(', '));
    body.append(row);
  }
}

function showParticipants(s: AdminState): void {
  const body = el('participants');
  const summary = el('participants-summary');
  body.replaceChildren();
  summary.replaceChildren();
  if (s.participants === null) {
    el('participants-note').textContent =
      'This relay runs no study server: there are no participants to show or remove.';
    return;
  }
  el('participants-note').textContent =
    `${s.participants.length} participants.` +
    (s.canRemove ? '' : ' This study server cannot remove participants.');
  // By scene and status: the counts first, then every participant.
  const counts = new Map<string, number>();
  for (const p of s.participants) {
    const key = `${p.scene} · ${p.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of [...counts].sort()) {
    const span = document.createElement('span');
    span.className = 'muted';
    span.textContent = `${key}: ${n}   `;
    summary.append(span);
  }
  for (const p of s.participants) {
    const row = document.createElement('tr');
    cell(row, p.id);
    cell(row, p.scene);
    cell(row, p.status);
    cell(row, p.condition ?? '–');
    cell(row, p.startTime ?? '–');
    // Remove: for a participant who has not finished (a finished one has nothing to leave).
    const removable = s.canRemove && !p.status.startsWith('finished');
    cell(row, removable ? button('Remove', () => removeParticipant(p)) : '');
    body.append(row);
  }
}

function showFinished(s: AdminState): void {
  const body = el('finished');
  body.replaceChildren();
  for (const m of s.finished) {
    const row = document.createElement('tr');
    cell(row, m.matchId);
    cell(row, `${m.scene} (${m.sim})`);
    cell(row, m.startTime);
    cell(row, m.players.map((p) => p ?? 'anonymous').join(', '));
    cell(row, m.endReason ?? 'no end record', m.endReason ? '' : 'error');
    cell(row, `${Math.ceil(m.bytes / 1024)} KiB`);
    cell(row, link(m.replay, 'Replay'));
    body.append(row);
  }
}

function show(s: AdminState): void {
  el('live').textContent = `Live · updated ${new Date(s.at).toLocaleTimeString()}`;
  showMatches(s);
  showWaiting(s);
  showParticipants(s);
  showFinished(s);
  el('counters').textContent = JSON.stringify(s.counters, null, 1);
}

const events = new EventSource(ADMIN_PATHS.events);
events.addEventListener('state', (e) => show(JSON.parse((e as MessageEvent<string>).data)));
events.onerror = () => {
  el('live').textContent = 'Disconnected from the relay; retrying…';
};

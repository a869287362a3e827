/**
 * The study wire at the edge: a page's `hello` and `step` checked field by field before anything
 * else sees them (protocol/study.ts has their shapes). Pure, but for the random id made for a
 * participant who brings none.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { STUDY_ID_MAX_LENGTH, type StudyHello, type StudyStep } from '../../protocol/index.ts';
import type { Arrival } from '../experiment/index.ts';

const TAB_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Parses a `hello`: the arrival and the tab id, or what is wrong. */
export function parseHello(raw: unknown): { arrival: Arrival; tabId: string } | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'hello: must be an object {tabId, PROLIFIC_PID?, STUDY_ID?, SESSION_ID?, participant?}';
  }
  const h = raw as Record<string, unknown>;
  const keys = ['tabId', 'PROLIFIC_PID', 'STUDY_ID', 'SESSION_ID', 'participant'];
  for (const k of Object.keys(h))
    if (!keys.includes(k)) return `hello.${k.slice(0, 40)}: unknown key`;
  for (const k of keys) {
    const v = h[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !ID.test(v) || v.length > STUDY_ID_MAX_LENGTH) {
      return `hello.${k}: must be 1–${STUDY_ID_MAX_LENGTH} characters of A-Z a-z 0-9 _ -`;
    }
  }
  const hello = h as unknown as StudyHello;
  if (typeof hello.tabId !== 'string' || !TAB_ID.test(hello.tabId)) return 'hello.tabId: required';
  let arrival: Arrival;
  if (hello.PROLIFIC_PID) {
    arrival = {
      id: hello.PROLIFIC_PID,
      source: 'prolific',
      studyId: hello.STUDY_ID ?? null,
      sessionId: hello.SESSION_ID ?? null,
    };
  } else if (hello.participant) {
    arrival = { id: hello.participant, source: 'participant', studyId: null, sessionId: null };
  } else {
    arrival = {
      id: `g-${randomBytes(12).toString('base64url')}`,
      source: 'generated',
      studyId: null,
      sessionId: null,
    };
  }
  return { arrival, tabId: hello.tabId };
}

/** Parses a `step` at the edge: the step, or what is wrong. */
export function parseStep(raw: unknown): StudyStep | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'step: must be an object {sceneId, type}';
  }
  const s = raw as Record<string, unknown>;
  const allowed = s.type === 'answer' ? ['sceneId', 'type', 'answers'] : ['sceneId', 'type'];
  for (const k of Object.keys(s))
    if (!allowed.includes(k)) return `step.${k.slice(0, 40)}: unknown key`;
  if (typeof s.sceneId !== 'string' || s.sceneId.length > 64) return 'step.sceneId: required';
  if (!['continue', 'accept', 'decline', 'leave', 'answer'].includes(s.type as string)) {
    return 'step.type: must be one of continue, accept, decline, leave, answer';
  }
  if (s.type === 'answer' && (typeof s.answers !== 'object' || s.answers === null)) {
    return 'step.answers: required';
  }
  return s as unknown as StudyStep;
}

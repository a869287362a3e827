/**
 * What a participant's page shows: the {@link StudyView} of a participant's record, with info
 * scenes' Markdown rendered to HTML (marked), survey questions with their defaults filled, the
 * relay scene of a game scene under the participant's condition, and the end scene's code.
 *
 * @packageDocumentation
 */

import { readFileSync } from 'node:fs';
import { marked } from 'marked';
import type { StudyQuestion, StudyScene, StudyView } from '../../protocol/study.ts';
import { isPythonSimSpec } from '../../sim/python/index.ts';
import type { Question } from '../experiment/index.ts';
import { type Experiment, type ParticipantRecord, whatNow } from '../experiment/index.ts';
import { relaySceneName, type StudyRelayScene } from './relay-scenes.ts';

/** Builds participants' views; renders each info scene's Markdown once. */
export class StudyViews {
  readonly #html = new Map<string, string>();

  /**
   * @param experiment the experiment
   * @param relayScenes its relay scenes, by name
   */
  constructor(
    readonly experiment: Experiment,
    readonly relayScenes: ReadonlyMap<string, StudyRelayScene>,
  ) {
    // Read every file now: a missing or unreadable one fails the start, not a participant.
    for (const s of experiment.scenes) if (s.kind === 'info') this.#render(s.path);
  }

  #render(file: string): string {
    let html = this.#html.get(file);
    if (html === undefined) {
      html = marked.parse(readFileSync(file, 'utf8'), { async: false, gfm: true });
      this.#html.set(file, html);
    }
    return html;
  }

  /** The relay scene a participant in `cell` plays game scene `sceneId` in. */
  relayScene(sceneId: string, cell: number): StudyRelayScene {
    const name = relaySceneName(sceneId, cell, this.experiment.cells.length);
    const rs = this.relayScenes.get(name);
    if (rs === undefined) throw new Error(`no relay scene ${name}`);
    return rs;
  }

  /** The participant's view now, with `notice` above the scene (null: none). */
  view(record: ParticipantRecord, notice: string | null = null): StudyView {
    const e = this.experiment;
    const now = whatNow(e, record);
    const s = now.scene;
    let scene: StudyScene;
    switch (s.kind) {
      case 'info':
        scene = { kind: 'info', id: s.id, html: this.#render(s.path), consent: s.consent };
        break;
      case 'game': {
        const rs = this.relayScene(s.id, record.cell);
        const g = rs.game;
        const numeric =
          rs.actions.bindings.length > 0 &&
          rs.actions.bindings.every((b) => typeof b.action === 'number') &&
          (g.defaultAction === null || typeof g.defaultAction === 'number');
        scene = {
          kind: 'game',
          id: s.id,
          relayScene: rs.name,
          sim: g.sim,
          players: g.players,
          episodes: g.episodes,
          framesPerEpisode: g.framesPerEpisode,
          waitingTimeoutMs: g.players > 1 ? g.waitingRoom.timeoutMs : 0,
          revealBot: g.revealBot,
          actions: numeric
            ? {
                map: Object.fromEntries(rs.actions.bindings.map((b) => [b.combo, b.action])),
                defaultAction: (g.defaultAction as number | null) ?? 0,
              }
            : null,
        } as StudyScene;
        break;
      }
      case 'survey':
        scene = { kind: 'survey', id: s.id, questions: s.questions.map(questionOf) };
        break;
      case 'end':
        scene = {
          kind: 'end',
          id: s.id,
          outcome: record.outcome ?? 'completed',
          completionCode: now.completionCode ?? '',
          redirect: now.redirect,
        };
        break;
    }
    const preload: string[] = [];
    e.scenes.forEach((x, i) => {
      if (i < record.sceneIndex || x.kind !== 'game' || !isPythonSimSpec(x.sim)) return;
      const rs = this.relayScene(x.id, record.cell);
      if (isPythonSimSpec(rs.game.sim)) preload.push(rs.name);
    });
    return {
      experimentId: e.id,
      participantId: record.id,
      sceneIndex: record.sceneIndex,
      sceneCount: e.scenes.length,
      scene,
      preload,
      notice,
    };
  }
}

function questionOf(q: Question): StudyQuestion {
  switch (q.type) {
    case 'likert':
      return { id: q.id, type: 'likert', text: q.text, scale: q.scale, required: q.required };
    case 'choice':
      return {
        id: q.id,
        type: 'choice',
        text: q.text,
        options: [...q.options],
        required: q.required,
      };
    case 'text':
      return {
        id: q.id,
        type: 'text',
        text: q.text,
        required: q.required,
        maxLength: q.maxLength,
      };
  }
}

// A survey: its screens (see README.md, "How the survey is drawn"), moving between them,
// repeats' "add another" screens, the review screen and finalizing. The questions
// themselves are drawn by questions.js.

import { call } from './rpc.js';
import { t, getLang } from './i18n.js';
import { $view, h, add, heading, announce, clearStatus, recentlyAnnounced, focusHeading } from './ui.js';
import { setBack, goHome, handleError } from './app.js';
import { refreshOutbox } from './sync-bar.js';
import { signature, displayValue, refreshBlock, renderQuestion } from './questions.js';

/** A survey's screens: questions grouped by `screen`, repeats' "add another" screens, review. */
function buildScreens(view) {
  const byPath = new Map(view.questions.map((q) => [q.path, q]));
  const visible = (q) => {
    for (let p = q; p; p = p.parent ? byPath.get(p.parent) : null) if (!p.relevant) return false;
    return true;
  };
  const screens = [];
  const index = new Map();
  const open = []; // repeats whose instances are being listed
  const close = (path) => {
    while (open.length) {
      const r = open[open.length - 1];
      if (path != null && path.startsWith(r.path + '[')) break;
      open.pop();
      screens.push({ key: 'repeat:' + r.path, repeat: r, items: [] });
    }
  };
  for (const q of view.questions) {
    close(q.path);
    if (!visible(q)) continue;
    if (q.kind === 'repeat') {
      open.push(q);
      continue;
    }
    if (q.kind !== 'question' || !q.shown) continue;
    let s = index.get(q.screen);
    if (!s) {
      s = { key: q.screen, items: [] };
      index.set(q.screen, s);
      screens.push(s);
    }
    s.items.push(q);
  }
  close(null);
  screens.push({ key: 'review', review: true, items: [] });
  return { screens, byPath };
}

function instanceNumber(path) {
  const m = path.match(/\[(\d+)\]$/);
  return m ? Number(m[1]) : null;
}

/** The headings around a question: its groups' and instances' labels. */
function trail(q, byPath) {
  const out = [];
  for (let p = q.parent ? byPath.get(q.parent) : null; p; p = p.parent ? byPath.get(p.parent) : null) {
    if (p.kind === 'repeat') continue;
    const n = p.kind === 'instance' ? instanceNumber(p.path) : null;
    const label = p.label || p.name;
    if (label) out.unshift(n ? t('instance', { label, n }) : label);
  }
  return out;
}

export async function surveyScreen({ id, view, back, names, screenKey }) {
  $view.dataset.screen = 'survey';
  const lang = getLang();
  if (!view) view = await call('response', id, lang);
  if (!names) {
    // The names of people, for answers holding a person's id (the check-in's child).
    const hs = await call('households').catch(() => []);
    names = new Map(hs.flatMap((hh) => hh.members.map((m) => [m.id, m.name])));
  }
  const forms = await call('forms', lang).catch(() => []);
  const form = forms.find((f) => f.id === view.form_id);
  const S = {
    id, view, back: back || goHome, names, lang,
    title: form ? form.title : view.form_id,
    screens: [], byPath: new Map(), index: 0, key: screenKey || null,
    timers: new Map(), touched: new Set(), showAll: false, queue: Promise.resolve(),
    root: h('section', { class: 'survey' }),
    result: null,
  };
  // A draft reopens on the screen it was left on.
  if (!S.key) S.key = localStorage.getItem('c2c.screen.' + id);
  rebuild(S);
  setBack(() => (S.index === 0 || S.view.finalized ? flush(S).then(() => S.back()) : goScreen(S, S.index - 1)));
  if (S.key) {
    const i = S.screens.findIndex((s) => s.key === S.key);
    S.index = i >= 0 ? i : 0;
  }
  S.key = S.screens[S.index].key;
  if (view.finalized) return finalView(S);
  drawScreen(S);
  return S.root;
}

function rebuild(S) {
  const { screens, byPath } = buildScreens(S.view);
  S.screens = screens;
  S.byPath = byPath;
}

/** A finished response: its answers, read only. */
function finalView(S) {
  const rows = S.screens.flatMap((s) => s.items).filter((q) => q.question_type !== 'note');
  return [
    h('button', { type: 'button', class: 'link back', 'data-test': 'close-survey', onclick: () => S.back() }, '‹ ' + t('close')),
    heading(S.title),
    h('p', { class: 'badge final' }, t('is_final')),
    h('dl', { class: 'answers' }, rows.map((q) => [
      h('dt', {}, [...trail(q, S.byPath), q.label].join(' › ')),
      h('dd', {}, q.value == null ? t('not_answered') : displayValue(S, q)),
    ])),
  ];
}

export async function flush(S) {
  for (const [, pending] of S.timers) {
    clearTimeout(pending.timer);
    pending.fire();
  }
  S.timers.clear();
  await S.queue;
}

export function answer(S, path, value) {
  S.queue = S.queue.then(async () => {
    try {
      // The worker sends the questions this answer changed when it knows our view.
      const update = await call('setAnswer', S.id, path, value, S.lang, S.view.view_number);
      applyView(S, withChanges(S.view, update));
      refreshOutbox();
    } catch (e) {
      handleError(e);
    }
  });
  return S.queue;
}

/**
 * The view an answer's result makes of `view`: the result itself when it is a whole view,
 * else `view` with the changed questions (`ViewChanges`, see crates/sync-web) in place.
 */
export function withChanges(view, update) {
  if (!update.changed) return update;
  const questions = view.questions.slice(0, update.question_count);
  for (const c of update.changed) questions[c.index] = c.question;
  const { changed, question_count, ...header } = update;
  return { ...header, questions };
}

export function applyView(S, view) {
  S.view = view;
  rebuild(S);
  const i = S.screens.findIndex((s) => s.key === S.key);
  if (i >= 0) {
    S.index = i;
    updateScreen(S);
  } else {
    // The screen is gone (no longer relevant): show the one now at its place.
    S.index = Math.min(S.index, S.screens.length - 1);
    S.key = S.screens[S.index].key;
    drawScreen(S);
    focusHeading();
  }
}

async function goScreen(S, index) {
  await flush(S);
  if (!recentlyAnnounced()) clearStatus();
  for (const q of S.screens[S.index].items) S.touched.add(q.path);
  S.index = Math.max(0, Math.min(index, S.screens.length - 1));
  S.key = S.screens[S.index].key;
  S.result = null;
  try {
    localStorage.setItem('c2c.screen.' + S.id, S.key);
  } catch (e) { /* only a convenience */ }
  drawScreen(S);
  focusHeading();
}

function drawScreen(S) {
  const screen = S.screens[S.index];
  const n = S.screens.length;
  const first = screen.items[0];
  let title = S.title;
  if (screen.review) title = t('review');
  else if (screen.repeat) title = screen.repeat.label || screen.repeat.name;
  else if (first) {
    const around = trail(first, S.byPath);
    if (around.length) title = around.join(' › ');
  }
  const body = h('div', { class: 'questions', id: 'questions' });
  const nav = h('nav', { class: 'pager', 'aria-label': S.title },
    h('button', {
      type: 'button', class: 'secondary', 'data-test': 'prev',
      onclick: () => (S.index === 0 ? flush(S).then(() => S.back()) : goScreen(S, S.index - 1)),
    }, '‹ ' + t('previous')),
    screen.review ? null : h('button', {
      type: 'button', class: 'primary', 'data-test': 'next', onclick: () => goScreen(S, S.index + 1),
    }, t('next') + ' ›'));
  S.root.replaceChildren(
    h('div', { class: 'survey-top' },
      h('button', { type: 'button', class: 'link', 'data-test': 'close-survey', onclick: () => flush(S).then(() => S.back()) }, '‹ ' + t('close')),
      h('span', { class: 'form-title' }, S.title)),
    h('p', { class: 'progress-text', id: 'progress-text' }, t('screen_of', { i: S.index + 1, n })),
    h('progress', { 'data-test': 'progress', max: String(n), value: String(S.index + 1), 'aria-labelledby': 'progress-text' }),
    heading(title),
    body,
    nav);
  if (screen.review) drawReview(S, body);
  else if (screen.repeat) drawRepeat(S, screen.repeat, body);
  else updateQuestions(S, body, screen.items);
}

function updateScreen(S) {
  const screen = S.screens[S.index];
  const body = S.root.querySelector('#questions');
  if (!body) return drawScreen(S);
  if (screen.review) drawReview(S, body);
  else if (screen.repeat) drawRepeat(S, screen.repeat, body);
  else updateQuestions(S, body, screen.items);
}

/** Bring the question blocks in line with `items`, keeping the ones that did not change (and focus). */
function updateQuestions(S, body, items) {
  const existing = new Map([...body.children].map((el) => [el.dataset.path, el]));
  const active = document.activeElement;
  const wanted = items.map((q) => {
    const old = existing.get(q.path);
    if (old && old.dataset.sig === signature(q)) {
      refreshBlock(S, old, q);
      return old;
    }
    const fresh = renderQuestion(S, q);
    if (old && old.contains(active) && active.name) {
      old.replaceWith(fresh);
      const again = fresh.querySelector(`[name="${CSS.escape(active.name)}"]`);
      if (again) again.focus();
    }
    return fresh;
  });
  const keep = new Set(wanted);
  for (const el of [...body.children]) if (!keep.has(el)) el.remove();
  wanted.forEach((el, i) => {
    if (body.children[i] !== el) body.insertBefore(el, body.children[i] || null);
  });
}

function drawRepeat(S, r, body) {
  const label = r.label || r.name;
  const instances = S.view.questions.filter((q) => q.kind === 'instance' && q.parent === r.path);
  const firstScreenOf = (path) => S.screens.findIndex((s) => s.items.some((q) => q.path === path || q.path.startsWith(path + '/')));
  body.replaceChildren();
  add(body,
    r.hint ? h('p', { class: 'hint' }, r.hint) : null,
    h('p', {}, t('repeat_count', { n: instances.length })),
    h('ul', { class: 'rows' }, instances.map((inst) => {
      const n = instanceNumber(inst.path);
      const at = firstScreenOf(inst.path);
      return h('li', {}, h('button', {
        type: 'button', class: 'row', 'data-test': 'instance-link', 'data-path': inst.path, disabled: at < 0,
        onclick: () => goScreen(S, at),
      }, t('instance', { label: inst.label || label, n })));
    })),
    h('button', {
      type: 'button', class: 'primary', 'data-test': 'add-repeat', 'data-repeat': r.path,
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        await flush(S);
        try {
          const n = await call('addRepeat', S.id, r.name);
          S.view = await call('response', S.id, S.lang);
          rebuild(S);
          refreshOutbox();
          const at = firstScreenOf(`${r.path}[${n}]`);
          S.index = S.screens.findIndex((s) => s.key === S.key);
          await goScreen(S, at >= 0 ? at : S.index);
        } catch (e) {
          handleError(e);
        }
      },
    }, instances.length ? t('add_repeat', { label }) : t('add_first_repeat', { label })));
}

function drawReview(S, body) {
  const problems = S.showAll
    ? S.screens.flatMap((s, i) => s.items.filter((q) => q.error).map((q) => ({ q, i })))
    : [];
  const result = h('div', { 'data-test': 'finalize-result', role: 'alert' });
  if (S.showAll && S.view.error_count > 0) {
    result.append(
      h('p', { class: 'error' }, t('problems', { n: S.view.error_count })),
      h('ul', { class: 'problems' }, problems.map(({ q, i }) => h('li', {},
        h('button', { type: 'button', class: 'link', 'data-test': 'problem-link', 'data-path': q.path, onclick: () => goScreen(S, i) },
          [...trail(q, S.byPath), q.label].join(' › ')),
        h('p', { class: 'error' }, q.error))),
        // Problems no screen shows (an answer to a question this form does not have).
        (S.view.other_errors || []).map((e) => h('li', { 'data-test': 'other-error' }, h('p', { class: 'error' }, e)))));
  }
  body.replaceChildren();
  add(body,
    h('p', {}, t('review_intro')),
    result,
    h('button', {
      type: 'button', class: 'primary big', 'data-test': 'finalize',
      onclick: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        await flush(S);
        try {
          const view = await call('finalizeResponse', S.id, S.lang);
          refreshOutbox();
          S.view = view;
          rebuild(S);
          if (view.finalized) {
            localStorage.removeItem('c2c.screen.' + S.id);
            announce(t('finalized'), 'ok');
            S.back();
            return;
          }
          S.showAll = true;
          S.index = S.screens.length - 1;
          drawScreen(S);
          const first = S.root.querySelector('[data-test="finalize-result"]');
          if (first) first.scrollIntoView();
          announce(t('problems', { n: view.error_count }), 'error');
        } catch (e) {
          btn.disabled = false;
          handleError(e);
        }
      },
    }, t('finalize')));
}

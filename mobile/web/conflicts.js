// A record's conflicts: for each field, the competing values with who wrote them and
// when; keeping one (with an optional note) resolves it.

import { call } from './rpc.js';
import { t, getLang, formatDate } from './i18n.js';
import { $view, h, heading, announce, valueText } from './ui.js';
import { go, setBack, handleError } from './app.js';
import { refreshOutbox } from './sync-bar.js';

export async function conflictsScreen(recordId, back) {
  $view.dataset.screen = 'conflicts';
  setBack(back);
  const list = await call('conflicts', recordId);
  // Labels and choice labels when the record is a response.
  let byPath = new Map();
  try {
    const view = await call('response', recordId, getLang());
    byPath = new Map(view.questions.map((q) => [q.path, q]));
  } catch (e) { /* a household or person: paths as they are */ }
  const show = (path, v) => {
    if (v == null) return t('removed');
    const q = byPath.get(path);
    const text = valueText(v);
    if (q && q.choices.length) {
      return text.split(' ').map((n) => (q.choices.find((c) => c.name === n) || { label: n }).label).join(', ');
    }
    return text;
  };
  // A household's or a person's own fields.
  const FIELDS = { name: 'member_name', address: 'address', relationship: 'relationship', birth_date: 'birth_date' };
  const items = list.map((c) => {
    const q = byPath.get(c.path);
    const group = 'conflict:' + c.path;
    const note = h('textarea', { id: 'note-' + c.path, 'data-test': 'conflict-note', rows: '2' });
    const radios = c.values.map((v, i) => {
      const rid = `${group}:${i}`;
      return h('label', { class: 'choice', for: rid },
        h('input', { type: 'radio', name: group, id: rid, value: String(i), 'data-test': 'conflict-value', checked: v.shown }),
        h('span', {},
          h('strong', {}, show(c.path, v.value)), h('br'),
          h('span', { class: 'row-sub' }, t('by_at', { author: v.author, time: formatDate(v.time, true) })),
          v.shown ? h('span', { class: 'row-sub' }, ` (${t('shown_now')})`) : null));
    });
    const resolve = h('button', {
      type: 'button', class: 'primary', 'data-test': 'resolve',
      onclick: async () => {
        const picked = document.querySelector(`input[name="${CSS.escape(group)}"]:checked`);
        if (!picked) return announce(t('choose_value'), 'error');
        resolve.disabled = true;
        try {
          await call('resolveConflict', recordId, c.path, c.values[Number(picked.value)].value, note.value.trim());
          refreshOutbox();
          announce(t('resolved'), 'ok');
          go(conflictsScreen, recordId, back);
        } catch (e) {
          resolve.disabled = false;
          handleError(e);
        }
      },
    }, t('keep_value'));
    return h('fieldset', { class: 'conflict', 'data-test': 'conflict', 'data-path': c.path },
      h('legend', {}, q ? q.label : FIELDS[c.path] ? t(FIELDS[c.path]) : c.path),
      radios,
      h('label', { for: 'note-' + c.path }, t('note')), note,
      resolve);
  });
  return [
    h('button', { type: 'button', class: 'link back', onclick: back }, '‹ ' + t('back')),
    heading(t('conflicts_title')),
    list.length ? h('p', {}, t('conflicts_intro')) : h('p', { class: 'empty' }, t('no_conflicts')),
    items,
  ];
}

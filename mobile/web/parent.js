// The parent's home: their children, a weekly check-in to start for each, and the past
// check-ins.

import { call } from './rpc.js';
import { t, getLang, formatDate } from './i18n.js';
import { $view, h, heading, badge, valueText } from './ui.js';
import { go, handleError } from './app.js';
import { refreshOutbox } from './sync-bar.js';
import { footer } from './footer.js';
import { surveyScreen } from './survey.js';

export async function parentHome() {
  $view.dataset.screen = 'parent-home';
  const [households, forms] = await Promise.all([call('households'), call('forms', getLang())]);
  const form = forms[0];
  const members = households.flatMap((hh) => hh.members.map((m) => ({ ...m, household: hh.id })));
  let children = members.filter((m) => m.relationship === 'child');
  if (!children.length) children = members.filter((m) => m.relationship !== 'parent');
  const names = new Map(members.map((m) => [m.id, m.name]));
  const back = () => go(parentHome);

  let past = form ? await call('responses', form.id) : [];
  past.sort((a, b) => b.updated_at - a.updated_at);
  past = past.slice(0, 30);
  // The child and the week of each check-in, read from the response itself.
  const details = await Promise.all(past.map((r) => call('response', r.id, getLang()).catch(() => null)));

  return [
    heading(t('parent_home'), 'h1'),
    h('h2', {}, t('children')),
    children.length ? h('ul', { class: 'rows' }, children.map((c) => h('li', { class: 'card', 'data-test': 'child-row', 'data-id': c.id },
      h('span', { class: 'row-title' }, c.name),
      c.birth_date ? h('span', { class: 'row-sub' }, t('born', { date: formatDate(c.birth_date) })) : null,
      form ? h('button', {
        type: 'button', class: 'primary', 'data-test': 'start-checkin', 'data-child': c.id,
        onclick: async (ev) => {
          ev.currentTarget.disabled = true;
          try {
            let view = await call('startResponse', form.id, c.household, getLang());
            view = await call('setAnswer', view.id, 'child', { type: 'text', value: c.id }, getLang());
            refreshOutbox();
            go(surveyScreen, { id: view.id, view, back, names });
          } catch (e) {
            ev.currentTarget.disabled = false;
            handleError(e);
          }
        },
      }, t('weekly_checkin', { name: c.name })) : null)))
      : h('p', { class: 'empty' }, t('no_children')),
    h('h2', {}, t('past_checkins')),
    past.length ? h('ul', { class: 'rows' }, past.map((r, i) => {
      const qs = details[i] ? details[i].questions : [];
      const child = qs.find((q) => q.path === 'child');
      const week = qs.find((q) => q.path === 'week_of');
      const who = child && child.value ? names.get(valueText(child.value)) || '' : '';
      const when = week && week.value ? formatDate(valueText(week.value)) : formatDate(r.updated_at);
      return h('li', {}, h('button', {
        type: 'button', class: 'row', 'data-test': 'checkin-row', 'data-id': r.id, 'data-final': String(r.finalized),
        onclick: () => go(surveyScreen, { id: r.id, back, names }),
      },
      h('span', { class: 'row-title' }, who ? t('checkin_row', { name: who, date: when }) : when),
      h('span', {}, badge(r.finalized ? t('final') : t('draft'), r.finalized ? 'final' : 'draft', 'response-status'),
        r.has_conflicts ? badge(t('conflict'), 'conflict', 'conflict-badge') : null)));
    })) : h('p', { class: 'empty' }, t('no_checkins')),
    footer(),
  ];
}

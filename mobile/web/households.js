// The outreach worker's screens: the list of households (with search), adding a
// household, and a household's page with its members, forms to start and responses.

import { call } from './rpc.js';
import { t, getLang, formatDate } from './i18n.js';
import { $view, h, heading, announce, badge } from './ui.js';
import { go, setBack, handleError } from './app.js';
import { refreshOutbox } from './sync-bar.js';
import { footer } from './footer.js';
import { surveyScreen } from './survey.js';
import { conflictsScreen } from './conflicts.js';

export async function workerHome() {
  $view.dataset.screen = 'worker-home';
  const households = await call('households');
  const responses = await call('responses', null);
  const forms = await call('forms', getLang());
  const titles = new Map(forms.map((f) => [f.id, f.title]));
  households.sort((a, b) => a.name.localeCompare(b.name, getLang()));
  const list = h('ul', { class: 'rows', id: 'household-list' });
  const empty = h('p', { class: 'empty' });
  const search = h('input', {
    id: 'household-search', type: 'search', 'data-test': 'household-search', autocomplete: 'off',
    oninput: () => fill(search.value),
  });
  function fill(query) {
    const q = query.trim().toLocaleLowerCase(getLang());
    const shown = households.filter((x) => !q || `${x.name} ${x.address}`.toLocaleLowerCase(getLang()).includes(q));
    list.replaceChildren(...shown.map((x) => h('li', {},
      h('button', {
        type: 'button', class: 'row', 'data-test': 'household-row', 'data-id': x.id,
        onclick: () => go(householdScreen, x.id),
      },
      h('span', { class: 'row-title' }, x.name),
      h('span', { class: 'row-sub' }, x.address),
      h('span', { class: 'row-sub' }, t('members_count', { n: x.members.length })),
      x.has_conflicts ? badge(t('conflict'), 'conflict', 'conflict-badge') : null))));
    empty.textContent = households.length === 0 ? t('no_households') : shown.length === 0 ? t('no_match') : '';
  }
  fill('');
  const loose = responses.filter((r) => !r.household_id);
  return [
    heading(t('households'), 'h1'),
    h('button', { type: 'button', class: 'primary', 'data-test': 'add-household', onclick: () => go(addHouseholdScreen) }, t('add_household')),
    h('label', { for: 'household-search' }, t('search')),
    search,
    empty,
    list,
    loose.length ? [h('h2', {}, t('other_responses')), responseList(loose, titles, () => go(workerHome))] : null,
    footer(),
  ];
}

export function responseList(responses, titles, back) {
  responses.sort((a, b) => b.updated_at - a.updated_at);
  return h('ul', { class: 'rows' }, responses.map((r) => h('li', { class: 'row-wrap' },
    h('button', {
      type: 'button', class: 'row', 'data-test': 'response-row', 'data-id': r.id,
      'data-final': String(r.finalized),
      onclick: () => go(surveyScreen, { id: r.id, back }),
    },
    h('span', { class: 'row-title' }, titles.get(r.form_id) || r.form_id),
    h('span', { class: 'row-sub' }, t('updated', { date: formatDate(r.updated_at, true) })),
    h('span', {},
      badge(r.finalized ? t('final') : t('draft'), r.finalized ? 'final' : 'draft', 'response-status'),
      r.has_conflicts ? badge(t('conflict'), 'conflict', 'conflict-badge') : null)),
    r.has_conflicts ? h('button', {
      type: 'button', class: 'secondary', 'data-test': 'resolve-conflicts', 'data-id': r.id,
      onclick: () => go(conflictsScreen, r.id, back),
    }, t('resolve_conflicts')) : null)));
}

export function addHouseholdScreen() {
  $view.dataset.screen = 'add-household';
  const name = h('input', { id: 'hh-name', 'data-test': 'household-name', required: true, autocomplete: 'off' });
  const address = h('input', { id: 'hh-address', 'data-test': 'household-address', required: true, autocomplete: 'off' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-test': 'save-household' }, t('save'));
  return [
    heading(t('add_household')),
    h('form', {
      class: 'stack',
      onsubmit: async (ev) => {
        ev.preventDefault();
        save.disabled = true;
        try {
          const id = await call('createHousehold', name.value.trim(), address.value.trim());
          refreshOutbox();
          announce(t('saved_household'), 'ok');
          go(householdScreen, id);
        } catch (e) {
          save.disabled = false;
          handleError(e);
        }
      },
    },
    h('label', { for: 'hh-name' }, t('household_name')), name,
    h('label', { for: 'hh-address' }, t('address')), address,
    save),
    h('button', { type: 'button', class: 'secondary', onclick: () => go(workerHome) }, t('back')),
  ];
}

const RELATIONSHIPS = ['child', 'parent', 'grandparent', 'guardian', 'sibling', 'other'];

export async function householdScreen(id) {
  $view.dataset.screen = 'household';
  setBack(() => go(workerHome));
  const [households, forms, responses] = await Promise.all([
    call('households'), call('forms', getLang()), call('responses', null),
  ]);
  const hh = households.find((x) => x.id === id);
  if (!hh) throw Object.assign(new Error(id), { kind: 'NotFound' });
  const titles = new Map(forms.map((f) => [f.id, f.title]));
  const back = () => go(householdScreen, id);

  const mName = h('input', { id: 'm-name', 'data-test': 'member-name', required: true, autocomplete: 'off' });
  const mRel = h('select', { id: 'm-rel', 'data-test': 'member-relationship' },
    RELATIONSHIPS.map((r) => h('option', { value: r }, t('rel_' + r))));
  const mBirth = h('input', { id: 'm-birth', type: 'date', 'data-test': 'member-birth-date' });
  const mSave = h('button', { type: 'submit', class: 'primary', 'data-test': 'save-member' }, t('save'));
  const memberForm = h('details', { class: 'add' },
    h('summary', {}, t('add_member')),
    h('form', {
      class: 'stack',
      onsubmit: async (ev) => {
        ev.preventDefault();
        mSave.disabled = true;
        try {
          await call('addMember', id, mName.value.trim(), mRel.value, mBirth.value || null);
          refreshOutbox();
          announce(t('saved_member'), 'ok');
          go(householdScreen, id);
        } catch (e) {
          mSave.disabled = false;
          handleError(e);
        }
      },
    },
    h('label', { for: 'm-name' }, t('member_name')), mName,
    h('label', { for: 'm-rel' }, t('relationship')), mRel,
    h('label', { for: 'm-birth' }, t('birth_date')), mBirth,
    mSave));

  const mine = responses.filter((r) => r.household_id === id);
  return [
    h('button', { type: 'button', class: 'link back', onclick: () => go(workerHome) }, '‹ ' + t('households')),
    heading(hh.name),
    h('p', { class: 'row-sub' }, hh.address),
    hh.has_conflicts ? h('button', {
      type: 'button', class: 'secondary', 'data-test': 'resolve-conflicts', 'data-id': hh.id,
      onclick: () => go(conflictsScreen, hh.id, back),
    }, t('resolve_conflicts')) : null,
    h('div', { class: 'actions' }, forms.map((f) => h('button', {
      type: 'button', class: 'primary', 'data-test': 'start-form', 'data-form': f.id,
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          const view = await call('startResponse', f.id, id, getLang());
          refreshOutbox();
          go(surveyScreen, { id: view.id, view, back });
        } catch (e) {
          ev.currentTarget.disabled = false;
          handleError(e);
        }
      },
    }, t('start_form', { title: f.title })))),
    h('h2', {}, t('members')),
    hh.members.length ? h('ul', { class: 'members' }, hh.members.map((m) => h('li', { 'data-test': 'member-row', 'data-id': m.id },
      h('span', { class: 'row-title' }, m.name), ' ',
      h('span', { class: 'row-sub' }, [RELATIONSHIPS.includes(m.relationship) ? t('rel_' + m.relationship) : m.relationship,
        m.birth_date ? ', ' + t('born', { date: formatDate(m.birth_date) }) : ''].join('')))))
      : h('p', { class: 'empty' }, t('no_members')),
    memberForm,
    h('h2', {}, t('responses')),
    mine.length ? responseList(mine, titles, back) : h('p', { class: 'empty' }, t('no_responses')),
  ];
}

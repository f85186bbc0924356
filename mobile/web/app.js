// The field app's UI, on the page. The core runs in worker.js; every call goes through
// rpc.js. No framework: each screen is a function that builds its DOM into <main>.
//
// Test hooks (stable; browser tests rely on them):
//   window.c2cReady                  promise: the store is open and the first screen drawn
//   #screen-heading                  the current screen's heading (focused on navigation)
//   data-screen="<name>" on <main>   start | enrolling | no-storage | worker-home | add-household |
//                                    household | survey | conflicts | parent-home | error
//   data-test="lang-en" / "lang-es"  language buttons (start screen and home screens)
//   data-test="username" / "password" / "sign-in"   the sign-in form
//   data-test="outbox-count"         number of changes waiting to be sent (header)
//   data-test="sync"                 Sync button (header); data-test="cancel-sync"
//   data-test="sync-progress"        <progress> during a sync
//   data-test="sync-outcome"         the last sync's outcome (or its error), translated
//   data-test="status"               the aria-live status region
//   data-test="household-search"     search box; data-test="household-row" (data-id) rows
//   data-test="add-household"        opens the form; data-test="household-name" / "household-address"
//                                    / "save-household"
//   data-test="member-name" / "member-relationship" / "member-birth-date" / "save-member"
//   data-test="member-row"           a member (data-id)
//   data-test="start-form"           start a survey (data-form = form id)
//   data-test="response-row"         a response (data-id, data-final="true|false")
//   data-test="conflict-badge"       shown on rows whose record has conflicts
//   data-test="resolve-conflicts"    opens the conflicts screen of a record (data-id)
//   survey: data-test="question" blocks with data-path; inputs have name = the question path;
//     data-test="question-error", "progress", "prev", "next", "close-survey",
//     "add-repeat" (data-repeat = repeat path), "instance-link", "finalize",
//     "problem-link" (data-path), "finalize-result"
//   conflicts: data-test="conflict" (data-path), radios name="conflict:<path>" with
//     data-test="conflict-value", data-test="conflict-note", data-test="resolve"
//   parent: data-test="child-row" (data-id), "start-checkin" (data-child), "checkin-row"
//   data-test="storage-blocked"      the no-persistent-storage message

import { call, ready, onProgress } from './rpc.js';
import { t, getLang, setLang, LANGS, formatDate, errorMessage } from './i18n.js';

const $view = document.getElementById('view');
const $status = document.getElementById('status');
const $bar = document.getElementById('bar');

let session = null;
let current = null; // {fn, args}: the screen shown, redrawn after a sync or a language change
let syncing = false;
let blocked = false; // no persistent storage: nothing may be filled in
let backAction = null; // what the phone's back button does on this screen (null: leave the app)

// ---------------------------------------------------------------------------- helpers

/** An element: attributes (on* listeners, value/checked as properties), then children. */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** Append children, leaving out null and false. */
function add(el, ...kids) {
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid);
  return el;
}

function heading(text, level = 'h1') {
  return h(level, { id: 'screen-heading', tabindex: '-1' }, text);
}

let announcedAt = 0;
function announce(text, kind = 'info') {
  announcedAt = Date.now();
  $status.textContent = '';
  $status.className = 'status ' + kind;
  // A fresh text node so screen readers read it again even when it repeats.
  setTimeout(() => {
    $status.textContent = text;
  }, 30);
}

function clearStatus() {
  $status.textContent = '';
  $status.className = 'status';
}

/** Show screen `fn(...args)`: it returns the nodes of <main>. Focus goes to its heading. */
async function go(fn, ...args) {
  current = { fn, args };
  backAction = HOMES.has(fn) ? null : goHome;
  // A message stays for the screen it led to, not for the ones after.
  if (Date.now() - announcedAt > 1500) clearStatus();
  let nodes;
  try {
    nodes = await fn(...args);
  } catch (e) {
    if (await handleError(e)) return;
    nodes = [heading(t('error_title')), h('p', { class: 'error' }, errorMessage(e)),
      session ? h('button', { type: 'button', class: 'secondary', onclick: () => goHome() }, t('back')) : null];
    $view.dataset.screen = 'error';
  }
  if (current.fn !== fn) return; // another navigation won
  $view.replaceChildren(...[nodes].flat(Infinity).filter((n) => n != null && n !== false));
  focusHeading();
}

function focusHeading() {
  const hd = document.getElementById('screen-heading');
  if (hd) hd.focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

function redraw() {
  if (current) go(current.fn, ...current.args);
}

/**
 * Errors every screen treats alike. Returns true when it took the user elsewhere.
 */
async function handleError(e) {
  const kind = e && e.kind;
  if (kind === 'NoPersistentStorage') {
    blocked = true;
    go(noStorageScreen);
    return true;
  }
  if (kind === 'DeviceRevoked') {
    await wipeAndRestart();
    return true;
  }
  if (kind === 'Unauthorized' || kind === 'NotSignedIn') {
    const username = session && session.username;
    go(startScreen, { message: t('err_' + kind), username });
    return true;
  }
  announce(errorMessage(e), 'error');
  return false;
}

async function wipeAndRestart() {
  try {
    await call('wipe');
  } catch (e) {
    announce(errorMessage(e), 'error');
  }
  session = null;
  for (const key of Object.keys(localStorage)) if (key.startsWith('c2c.screen.')) localStorage.removeItem(key);
  renderHeader();
  go(startScreen, { message: t('err_DeviceRevoked') });
}

function deviceName() {
  const ua = navigator.userAgent;
  const os = (ua.match(/Android [\d.]+|iPhone OS [\d_]+|iPad|Windows NT [\d.]+|Mac OS X [\d_]+|CrOS|Linux/) || ['?'])[0].replace(/_/g, '.');
  const browser = (ua.match(/(SamsungBrowser|Firefox|EdgA?|OPR|Chrome|Version)\/\d+/) || ['browser'])[0].replace('Version', 'Safari');
  return `Web app, ${os}, ${browser}`.slice(0, 100);
}

function langButtons() {
  return h('div', { class: 'langs', role: 'group', 'aria-label': t('language') },
    LANGS.map((l) => h('button', {
      type: 'button', lang: l.code, 'data-test': 'lang-' + l.code,
      'aria-pressed': String(getLang() === l.code),
      onclick: () => {
        setLang(l.code);
        renderHeader();
        redraw();
      },
    }, l.name)));
}

function badge(text, kind, test) {
  return h('span', { class: 'badge ' + kind, 'data-test': test }, text);
}

function valueText(v) {
  return v == null ? '' : String(v.value);
}

// ----------------------------------------------------------------------------- header

function renderHeader() {
  document.title = t('app_name');
  $bar.hidden = !session || blocked;
  document.getElementById('brand').textContent = t('app_name');
  document.getElementById('outbox-label').textContent = t('outbox');
  const btn = document.getElementById('sync');
  btn.textContent = syncing ? t('syncing') : t('sync');
  document.getElementById('cancel-sync').textContent = t('cancel');
  refreshOutbox();
}

let outboxTimer = null;
function refreshOutbox() {
  clearTimeout(outboxTimer);
  outboxTimer = setTimeout(async () => {
    if (!session || blocked) return;
    try {
      const n = Number(await call('pendingChanges'));
      const el = document.getElementById('outbox-count');
      el.textContent = String(n);
      document.getElementById('outbox').setAttribute('aria-label', t('outbox_label', { n }));
      document.getElementById('outbox').classList.toggle('waiting', n > 0);
    } catch (e) {
      /* shown at the next call that matters */
    }
  }, 150);
}

async function countConflicts() {
  const [hs, rs] = await Promise.all([call('households'), call('responses', null)]);
  return hs.filter((x) => x.has_conflicts).length + rs.filter((x) => x.has_conflicts).length;
}

async function doSync() {
  if (syncing || !session) return;
  syncing = true;
  const panel = document.getElementById('sync-panel');
  const bar = document.getElementById('sync-progress');
  const phase = document.getElementById('sync-phase');
  const outcome = document.getElementById('sync-outcome');
  const btn = document.getElementById('sync');
  btn.disabled = true;
  btn.textContent = t('syncing');
  panel.hidden = false;
  outcome.hidden = true;
  bar.removeAttribute('value');
  phase.textContent = t('syncing');
  onProgress((p) => {
    const frac = p.bytes_total > 0 ? p.bytes_done / p.bytes_total
      : p.items_total > 0 ? p.items_done / p.items_total : null;
    if (frac == null) bar.removeAttribute('value');
    else bar.value = Math.min(1, frac);
    phase.textContent = `${t('phase_' + p.phase)} ${p.items_done}/${p.items_total}`;
  });
  let text;
  let kind = 'ok';
  try {
    const r = await call('sync');
    let conflicts = 0;
    try {
      conflicts = await countConflicts();
    } catch (e) { /* the counts are a courtesy */ }
    text = t('sync_done', { pushed: r.pushed, pulled: r.pulled, rejected: r.rejected, conflicts });
    if (r.forms) text += ' ' + t('sync_forms', { forms: r.forms });
    if (r.attachments_uploaded || r.attachments_refused) {
      text += ' ' + t('sync_attachments', { up: r.attachments_uploaded, refused: r.attachments_refused });
    }
    if (r.rejected) text += ' ' + t('sync_nothing_lost');
  } catch (e) {
    text = errorMessage(e);
    kind = e.kind === 'Offline' || e.kind === 'Cancelled' ? 'warn' : 'error';
    if (e.kind === 'DeviceRevoked' || e.kind === 'Unauthorized' || e.kind === 'NoPersistentStorage') {
      syncing = false;
      panel.hidden = true;
      btn.disabled = false;
      await handleError(e);
      outcome.textContent = text;
      outcome.className = 'outcome ' + kind;
      outcome.hidden = false;
      renderHeader();
      return;
    }
  }
  onProgress(null);
  syncing = false;
  panel.hidden = true;
  btn.disabled = false;
  outcome.textContent = text;
  outcome.className = 'outcome ' + kind;
  outcome.hidden = false; // itself a live region: no second announcement
  if (Date.now() - announcedAt > 1500) clearStatus();
  renderHeader();
  // New households, forms or check-ins may have arrived; a survey keeps its screen.
  if (current && current.fn !== surveyScreen) redraw();
}

document.getElementById('sync').addEventListener('click', doSync);
document.getElementById('cancel-sync').addEventListener('click', () => {
  call('cancelSync').catch(() => {});
});

// ---------------------------------------------------------------------- start screens

function noStorageScreen() {
  $view.dataset.screen = 'no-storage';
  renderHeader();
  return [
    heading(t('no_storage_title')),
    h('p', { class: 'blocked', 'data-test': 'storage-blocked', role: 'alert' }, t('no_storage_body')),
    langButtons(),
  ];
}

function startScreen({ message, username } = {}) {
  $view.dataset.screen = 'start';
  session = null;
  renderHeader();
  if (message) announce(message, 'error');
  const user = h('input', {
    id: 'username', name: 'username', 'data-test': 'username', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true, value: username || '',
  });
  const pass = h('input', {
    id: 'password', name: 'password', type: 'password', 'data-test': 'password',
    autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-test': 'sign-in' }, t('sign_in'));
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      submit.textContent = t('signing_in');
      try {
        session = await call('signIn', location.origin, user.value.trim(), pass.value, deviceName());
        afterSignIn();
      } catch (e) {
        submit.disabled = false;
        submit.textContent = t('sign_in');
        if (e.kind === 'NoPersistentStorage') return handleError(e);
        announce(e.kind === 'Unauthorized' ? t('sign_in_failed') : errorMessage(e), 'error');
      }
    },
  },
  h('label', { for: 'username' }, t('username')), user,
  h('label', { for: 'password' }, t('password')), pass,
  submit);
  return [
    heading(t('start_title'), 'h1'),
    h('p', {}, t('language')),
    langButtons(),
    h('p', {}, t('start_intro')),
    form,
    h('p', { class: 'hint' }, t('enroll_hint')),
  ];
}

function enrollingScreen() {
  $view.dataset.screen = 'enrolling';
  return [heading(t('enrolling'), 'h1'), h('progress', { 'aria-label': t('enrolling') })];
}

async function enroll(code) {
  await go(enrollingScreen);
  try {
    session = await call('enroll', location.origin, code, deviceName());
    announce(t('enrolled'), 'ok');
    await afterSignIn();
  } catch (e) {
    if (e.kind === 'NoPersistentStorage') return handleError(e);
    await go(startScreen, { message: e.kind === 'Unauthorized' ? t('enroll_failed') : errorMessage(e) });
  }
}

async function askPersistence() {
  try {
    if (navigator.storage && navigator.storage.persist) {
      const granted = await navigator.storage.persist();
      if (!granted && !localStorage.getItem('c2c.persistWarned')) {
        localStorage.setItem('c2c.persistWarned', '1');
        announce(t('storage_warning'), 'warn');
      }
    }
  } catch (e) { /* not offered by this browser */ }
}

async function afterSignIn() {
  renderHeader();
  askPersistence();
  await goHome();
}

function goHome() {
  if (session && session.role === 'parent') return go(parentHome);
  return go(workerHome);
}

// ------------------------------------------------------------------ outreach worker

async function workerHome() {
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

function footer() {
  return h('footer', { class: 'foot' },
    session ? h('p', { class: 'hint' }, t('signed_in_as', { name: session.username })) : null,
    langButtons());
}

function responseList(responses, titles, back) {
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

function addHouseholdScreen() {
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

async function householdScreen(id) {
  $view.dataset.screen = 'household';
  backAction = () => go(workerHome);
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

// ---------------------------------------------------------------------------- parent

async function parentHome() {
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

// ------------------------------------------------------------------------- conflicts

async function conflictsScreen(recordId, back) {
  $view.dataset.screen = 'conflicts';
  backAction = back;
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

// ---------------------------------------------------------------------------- survey

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

function qid(path) {
  return 'q-' + path.replace(/[^A-Za-z0-9_-]/g, '_');
}

function signature(q) {
  return JSON.stringify([q.question_type, q.label, q.hint, q.required, q.read_only, q.appearance,
    q.choices, q.range, q.parameters]);
}

function hasAppearance(q, word) {
  return (q.appearance || '').split(/\s+/).includes(word);
}

/** The value to store for what was typed: numbers as numbers, else the text (the core says what is wrong). */
function typedValue(q, raw) {
  const s = raw.trim();
  if (s === '') return null;
  switch (q.question_type) {
    case 'integer':
      return /^[-+]?\d+$/.test(s) ? { type: 'int', value: parseInt(s, 10) } : { type: 'text', value: s };
    case 'decimal': {
      const n = Number(s.replace(',', '.'));
      return Number.isFinite(n) ? { type: 'decimal', value: n } : { type: 'text', value: s };
    }
    case 'range': {
      const n = Number(s);
      if (!Number.isFinite(n)) return { type: 'text', value: s };
      return q.range && q.range.decimal ? { type: 'decimal', value: n } : { type: 'int', value: Math.round(n) };
    }
    default:
      return { type: 'text', value: raw };
  }
}

/** The input's text for a stored value. */
function inputText(q, v) {
  const s = valueText(v);
  switch (q.question_type) {
    case 'date': return s.slice(0, 10);
    case 'time': return s.slice(0, 5);
    case 'datetime': return s.slice(0, 16);
    default: return s;
  }
}

function parameter(q, name) {
  const m = (q.parameters || '').match(new RegExp(`(?:^|\\s)${name}=(\\S+)`));
  return m ? m[1] : null;
}

/** A photo made smaller before it is stored (max-pixels, else 1600 px on the long side). */
async function shrinkImage(file, q) {
  const raw = new Uint8Array(await file.arrayBuffer());
  if (!file.type.startsWith('image/') || typeof createImageBitmap !== 'function') return { bytes: raw, name: file.name };
  const max = Number(parameter(q, 'max-pixels')) || 1600;
  try {
    const bmp = await createImageBitmap(file);
    const scale = Math.min(1, max / Math.max(bmp.width, bmp.height));
    if (scale === 1 && raw.length < 1_500_000) return { bytes: raw, name: file.name };
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bmp.width * scale);
    canvas.height = Math.round(bmp.height * scale);
    canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
    if (!blob) return { bytes: raw, name: file.name };
    return { bytes: new Uint8Array(await blob.arrayBuffer()), name: file.name.replace(/\.[^.]*$/, '') + '.jpg' };
  } catch (e) {
    return { bytes: raw, name: file.name };
  }
}

async function surveyScreen({ id, view, back, names, screenKey }) {
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
  backAction = () => (S.index === 0 || S.view.finalized ? flush(S).then(() => S.back()) : goScreen(S, S.index - 1));
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

function displayValue(S, q) {
  const s = valueText(q.value);
  if (q.choices.length && s) {
    return s.split(' ').map((n) => (q.choices.find((c) => c.name === n) || { label: n }).label).join(', ');
  }
  if (S.names.has(s)) return S.names.get(s);
  if (q.question_type === 'date' && /^\d{4}-\d\d-\d\d$/.test(s)) return formatDate(s);
  return s;
}

/** Send what is typed but not yet sent, and wait for every answer to be saved. */
async function flush(S) {
  for (const [, pending] of S.timers) {
    clearTimeout(pending.timer);
    pending.fire();
  }
  S.timers.clear();
  await S.queue;
}

function answer(S, path, value) {
  S.queue = S.queue.then(async () => {
    try {
      const view = await call('setAnswer', S.id, path, value, S.lang);
      applyView(S, view);
      refreshOutbox();
    } catch (e) {
      handleError(e);
    }
  });
  return S.queue;
}

function applyView(S, view) {
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
  if (Date.now() - announcedAt > 1500) clearStatus();
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

function showError(S, q) {
  return q.error && (S.showAll || q.value != null || S.touched.has(q.path)) ? q.error : '';
}

/** Update a block whose structure is unchanged: its error and, unless being typed in, its value. */
function refreshBlock(S, block, q) {
  const err = block.querySelector('[data-test="question-error"]');
  const msg = showError(S, q);
  if (err && err.textContent !== msg) err.textContent = msg;
  for (const input of block.querySelectorAll('input, textarea, select')) {
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  const ro = block.querySelector('[data-role="readonly"]');
  if (ro) ro.textContent = q.value == null ? t('not_answered') : displayValue(S, q);
  const note = block.querySelector('[data-role="note-value"]');
  if (note) note.textContent = valueText(q.value);
  const out = block.querySelector('output');
  if (out) out.textContent = q.value == null ? t('not_answered') : valueText(q.value);
  const picked = new Set(valueText(q.value).split(' ').filter(Boolean));
  for (const input of block.querySelectorAll('input[name]')) {
    if (input.name !== q.path || S.timers.has(q.path) || input === document.activeElement && !['radio', 'checkbox', 'range'].includes(input.type)) continue;
    if (input.type === 'radio' || input.type === 'checkbox') {
      input.checked = input.dataset.ack ? q.value != null : picked.has(input.value);
    } else if (input.type !== 'file') {
      const text = inputText(q, q.value);
      if (input.value !== text && !(q.question_type === 'decimal' && Number(input.value.replace(',', '.')) === Number(text))) input.value = text;
    }
  }
  const file = block.querySelector('[data-role="attached"]');
  if (file) file.textContent = q.value == null ? '' : t('attached', { name: valueText(q.value) });
}

function renderQuestion(S, q) {
  const id = qid(q.path);
  const hintId = id + '-hint';
  const errId = id + '-error';
  const msg = showError(S, q);
  const describedBy = [q.hint ? hintId : null, errId].filter(Boolean).join(' ');
  const block = h('div', { class: 'q', 'data-test': 'question', 'data-path': q.path, 'data-type': q.question_type });
  block.dataset.sig = signature(q);
  const labelText = [q.label || q.name,
    q.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
    q.required ? h('span', { class: 'sr-only' }, ` (${t('required')})`) : null];
  const hint = q.hint ? h('p', { class: 'hint', id: hintId }, q.hint) : null;
  const err = h('p', { class: 'error', id: errId, 'data-test': 'question-error' }, msg);
  const common = { id, name: q.path, 'aria-describedby': describedBy, 'aria-invalid': msg ? 'true' : null, 'aria-required': q.required ? 'true' : null };
  const type = q.question_type;

  if (type === 'note') {
    add(block, h('p', { class: 'note-text', id }, q.label),
      q.value != null ? h('p', { class: 'note-value', 'data-role': 'note-value' }, valueText(q.value)) : null, hint);
    return block;
  }
  if (q.read_only) {
    add(block, h('p', { class: 'label', id: id + '-label' }, labelText),
      h('p', { class: 'readonly', 'data-role': 'readonly', 'aria-labelledby': id + '-label' },
        q.value == null ? t('not_answered') : displayValue(S, q)),
      hint, err);
    return block;
  }

  const send = (value) => answer(S, q.path, value);
  const debounced = (input, read) => {
    const fire = () => {
      S.timers.delete(q.path);
      send(read());
    };
    input.addEventListener('input', () => {
      const pending = S.timers.get(q.path);
      if (pending) clearTimeout(pending.timer);
      S.timers.set(q.path, { timer: setTimeout(fire, 450), fire });
    });
    input.addEventListener('change', () => {
      const pending = S.timers.get(q.path);
      if (!pending) return;
      clearTimeout(pending.timer);
      fire();
    });
  };
  const clearButton = () => (!q.required && q.value != null
    ? h('button', { type: 'button', class: 'link', onclick: () => send(null) }, t('clear_answer'))
    : null);

  if (type === 'select_one' || type === 'select_multiple') {
    const multi = type === 'select_multiple';
    const picked = new Set(valueText(q.value).split(' ').filter(Boolean));
    const fs = h('fieldset', { class: 'choices', 'aria-describedby': describedBy },
      h('legend', {}, labelText),
      q.choices.map((c, i) => {
        const cid = `${id}-${i}`;
        return h('label', { class: 'choice', for: cid },
          h('input', {
            type: multi ? 'checkbox' : 'radio', id: cid, name: q.path, value: c.name,
            checked: picked.has(c.name), 'aria-invalid': msg ? 'true' : null,
            onchange: () => {
              if (!multi) return send({ type: 'text', value: c.name });
              const names = [...fs.querySelectorAll('input:checked')].map((x) => x.value);
              return send(names.length ? { type: 'text', value: names.join(' ') } : null);
            },
          }),
          h('span', {}, c.label));
      }));
    add(block, fs, hint, err, multi ? null : clearButton());
    return block;
  }

  if (type === 'rank') {
    let order = valueText(q.value).split(' ').filter(Boolean);
    if (order.length !== q.choices.length) order = q.choices.map((c) => c.name);
    const label = (n) => (q.choices.find((c) => c.name === n) || { label: n }).label;
    const list = h('ol', { class: 'rank', id });
    // Move item i by `by` places; focus follows the item (the same button, or the other at an end).
    const move = (i, by) => {
      [order[i + by], order[i]] = [order[i], order[i + by]];
      draw();
      const buttons = list.children[i + by].querySelectorAll('button');
      const again = buttons[by < 0 ? 0 : 1];
      (again.disabled ? buttons[by < 0 ? 1 : 0] : again).focus();
      send({ type: 'text', value: order.join(' ') });
    };
    const draw = () => list.replaceChildren(...order.map((n, i) => h('li', {},
      h('span', { class: 'rank-n', 'aria-hidden': 'true' }, `${i + 1}.`),
      h('span', {}, label(n)),
      h('button', { type: 'button', class: 'icon', 'aria-label': t('move_up', { label: label(n) }), disabled: i === 0, onclick: () => move(i, -1) }, '▲'),
      h('button', { type: 'button', class: 'icon', 'aria-label': t('move_down', { label: label(n) }), disabled: i === order.length - 1, onclick: () => move(i, 1) }, '▼'))));
    draw();
    add(block, h('p', { class: 'label' }, labelText), list, hint, err,
      q.value == null ? h('button', { type: 'button', class: 'secondary', onclick: () => send({ type: 'text', value: order.join(' ') }) }, t('confirm_order')) : null);
    return block;
  }

  if (type === 'acknowledge') {
    add(block, h('p', { class: 'label' }, labelText),
      h('label', { class: 'choice', for: id },
        h('input', {
          ...common, type: 'checkbox', 'data-ack': '1', checked: q.value != null,
          onchange: (ev) => send(ev.target.checked ? { type: 'text', value: 'OK' } : null),
        }),
        h('span', {}, t('ok'))),
      hint, err);
    return block;
  }

  if (type === 'range' && q.range) {
    const lo = Math.min(q.range.start, q.range.end);
    const hi = Math.max(q.range.start, q.range.end);
    const out = h('output', { for: id }, q.value == null ? t('not_answered') : valueText(q.value));
    const input = h('input', {
      ...common, type: 'range', min: String(lo), max: String(hi), step: String(q.range.step),
      value: q.value == null ? String(q.range.start) : valueText(q.value),
      oninput: (ev) => { out.textContent = ev.target.value; },
      onchange: (ev) => send(typedValue(q, ev.target.value)),
    });
    add(block, h('label', { for: id }, labelText), h('div', { class: 'range' }, h('span', {}, String(lo)), input, h('span', {}, String(hi))), out, hint, err, clearButton());
    return block;
  }

  if (type === 'image' && (hasAppearance(q, 'signature') || hasAppearance(q, 'draw'))) {
    add(block, h('p', { class: 'label', id: id + '-label' }, labelText), signaturePad(S, q, id), hint,
      h('p', { class: 'row-sub', 'data-role': 'attached' }, q.value == null ? '' : t('attached', { name: valueText(q.value) })), err);
    return block;
  }

  if (['image', 'audio', 'video', 'file'].includes(type)) {
    const accept = { image: 'image/*', audio: 'audio/*', video: 'video/*', file: null }[type];
    const status = h('p', { class: 'row-sub', 'data-role': 'attached' }, q.value == null ? '' : t('attached', { name: valueText(q.value) }));
    const input = h('input', {
      ...common, type: 'file', accept, capture: type === 'file' ? null : (hasAppearance(q, 'selfie') ? 'user' : 'environment'),
      onchange: async (ev) => {
        const file = ev.target.files && ev.target.files[0];
        if (!file) return;
        status.textContent = t('attaching');
        const { bytes, name } = type === 'image' ? await shrinkImage(file, q) : { bytes: new Uint8Array(await file.arrayBuffer()), name: file.name };
        S.queue = S.queue.then(async () => {
          try {
            applyView(S, await call('attachBytes', S.id, q.path, name, bytes, S.lang));
            refreshOutbox();
          } catch (e) {
            status.textContent = '';
            handleError(e);
          }
        });
      },
    });
    input.classList.add('file-input');
    input.setAttribute('aria-labelledby', `${id}-label ${id}-button`);
    add(block, h('p', { class: 'label', id: id + '-label' }, labelText), input,
      h('label', { for: id, id: id + '-button', class: 'secondary filebtn' }, t(type === 'image' ? 'take_photo' : 'choose_file')),
      status, hint, err);
    return block;
  }

  // Typed answers: text, numbers, dates, times, coordinates, barcodes.
  const inputType = { date: 'date', time: 'time', datetime: 'datetime-local' }[type] || 'text';
  const attrs = { ...common, type: inputType, value: inputText(q, q.value), autocomplete: 'off' };
  if (type === 'integer') Object.assign(attrs, { inputmode: 'numeric' });
  if (type === 'decimal') Object.assign(attrs, { inputmode: 'decimal' });
  const multiline = type === 'text' && hasAppearance(q, 'multiline');
  const input = multiline ? h('textarea', { ...common, rows: '4', value: inputText(q, q.value) }) : h('input', attrs);
  if (inputType === 'text') debounced(input, () => typedValue(q, input.value));
  else input.addEventListener('change', () => send(input.value ? { type: 'text', value: input.value } : null));
  add(block, h('label', { for: id }, labelText), input);
  if (type === 'geopoint') {
    const locate = h('button', {
      type: 'button', class: 'secondary',
      onclick: () => {
        if (!navigator.geolocation) return announce(t('location_failed', { message: '—' }), 'error');
        locate.disabled = true;
        announce(t('locating'));
        navigator.geolocation.getCurrentPosition((pos) => {
          locate.disabled = false;
          const c = pos.coords;
          const text = `${c.latitude} ${c.longitude} ${c.altitude ?? 0} ${c.accuracy ?? 0}`;
          input.value = text;
          send({ type: 'text', value: text });
          clearStatus();
        }, (e) => {
          locate.disabled = false;
          announce(t('location_failed', { message: e.message }), 'error');
        }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 });
      },
    }, t('use_location'));
    add(block, locate);
  }
  add(block, hint, err);
  return block;
}

function signaturePad(S, q, id) {
  const canvas = h('canvas', { id, class: 'signature', width: '600', height: '240', role: 'img', 'aria-labelledby': id + '-label', 'aria-describedby': id + '-help' });
  const ctx = canvas.getContext('2d');
  const blank = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 4;
    ctx.lineCap = 'round';
    ctx.strokeStyle = '#111';
  };
  blank();
  let drawing = false;
  let drawn = false;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * (canvas.width / r.width), (ev.clientY - r.top) * (canvas.height / r.height)];
  };
  canvas.addEventListener('pointerdown', (ev) => {
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(ev));
    ev.preventDefault();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drawing) return;
    ctx.lineTo(...at(ev));
    ctx.stroke();
    drawn = true;
  });
  canvas.addEventListener('pointerup', () => { drawing = false; });
  const save = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      if (!drawn) return;
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      S.queue = S.queue.then(async () => {
        try {
          applyView(S, await call('attachBytes', S.id, q.path, 'signature.png', bytes, S.lang));
          refreshOutbox();
          announce(t('saved'), 'ok');
        } catch (e) {
          handleError(e);
        }
      });
    },
  }, t('save_signature'));
  return h('div', { class: 'sig' },
    h('p', { class: 'hint', id: id + '-help' }, t('signature_help')),
    canvas,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => { blank(); drawn = false; } }, t('clear_signature')),
      save));
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
        h('p', { class: 'error' }, q.error)))));
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

// ------------------------------------------------------------------------------ boot

// Screens where the phone's back button leaves the app.
const HOMES = new Set([startScreen, workerHome, parentHome, noStorageScreen, enrollingScreen]);

/**
 * The phone's back button: one extra history entry is kept; going back to the one
 * below it runs the screen's back action and puts the entry back. On a home screen
 * the back button leaves the app as usual.
 */
function trapBackButton() {
  history.replaceState({ c2c: 'base' }, '');
  history.pushState({ c2c: 'app' }, '');
  window.addEventListener('popstate', (ev) => {
    if (!ev.state || ev.state.c2c !== 'base') return;
    if (backAction) {
      history.pushState({ c2c: 'app' }, '');
      backAction();
    } else {
      history.back();
    }
  });
}

function registerServiceWorker() {
  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register('./sw.js', { scope: './' }).catch(() => {});
  }
}

/** The enrollment code from `#enroll=<code>`, dropped from the address at once. */
function takeEnrollCode() {
  const m = location.hash.match(/^#enroll=([^&]+)/);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}

async function boot() {
  registerServiceWorker();
  const code = takeEnrollCode();
  trapBackButton();
  // A setup link opened while the app is already open only changes the fragment.
  window.addEventListener('hashchange', () => {
    const later = takeEnrollCode();
    if (later && !blocked) enroll(later);
  });
  renderHeader();
  try {
    await ready;
  } catch (e) {
    if (e.kind === 'NoPersistentStorage') {
      blocked = true;
      return go(noStorageScreen);
    }
    return go(() => {
      $view.dataset.screen = 'error';
      return [heading(t('error_title')), h('p', { class: 'error', role: 'alert' }, errorMessage(e))];
    });
  }
  if (code) return enroll(code);
  try {
    session = await call('session');
  } catch (e) {
    if (await handleError(e)) return undefined;
  }
  if (!session) return go(startScreen);
  renderHeader();
  askPersistence();
  return goHome();
}

window.c2cReady = boot();

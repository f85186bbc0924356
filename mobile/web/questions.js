// One question of a survey: renderQuestion() draws its block (label, hint, input, error)
// for every question type, refreshBlock() brings a drawn block up to date without
// disturbing what is being typed. Answers go through survey.js's answer().

import { call } from './rpc.js';
import { t, formatDate } from './i18n.js';
import { h, add, announce, clearStatus, valueText } from './ui.js';
import { handleError } from './app.js';
import { refreshOutbox } from './sync-bar.js';
import { answer, applyView } from './survey.js';

export function qid(path) {
  return 'q-' + path.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The line under an attachment question: what is attached, as a person reads it. Its
 * stored name is the SHA-256 of its bytes and their extension, which says nothing to
 * them and is too long for a phone's line; the first eight digits tell two apart.
 */
function attachedText(q) {
  if (q.value == null) return '';
  const name = valueText(q.value);
  const m = name.match(/^([0-9a-f]{8})[0-9a-f]{56}(\.\w+)?$/);
  return t('attached', { name: m ? `${m[1]}…${m[2] || ''}` : name });
}

export function signature(q) {
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

export function displayValue(S, q) {
  const s = valueText(q.value);
  if (q.choices.length && s) {
    return s.split(' ').map((n) => (q.choices.find((c) => c.name === n) || { label: n }).label).join(', ');
  }
  if (S.names.has(s)) return S.names.get(s);
  if (q.question_type === 'date' && /^\d{4}-\d\d-\d\d$/.test(s)) return formatDate(s);
  return s;
}


function showError(S, q) {
  return q.error && (S.showAll || q.value != null || S.touched.has(q.path)) ? q.error : '';
}

/** Update a block whose structure is unchanged: its error and, unless being typed in, its value. */
export function refreshBlock(S, block, q) {
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
  if (file) file.textContent = attachedText(q);
}

export function renderQuestion(S, q) {
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
      h('p', { class: 'row-sub', 'data-role': 'attached' }, attachedText(q)), err);
    return block;
  }

  if (['image', 'audio', 'video', 'file'].includes(type)) {
    const accept = { image: 'image/*', audio: 'audio/*', video: 'video/*', file: null }[type];
    const status = h('p', { class: 'row-sub', 'data-role': 'attached' }, attachedText(q));
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

// Every string of the app, in English and Spanish. Form labels, hints, choices and
// validation messages come from the core in the chosen language; these are the app's own.

const STRINGS = {
  en: {
    app_name: 'Cradle to Career',
    loading: 'Opening…',
    language: 'Language',
    start_title: 'Welcome',
    start_intro: 'Sign in once with the account your partnership gave you. After that the app works without a connection.',
    username: 'User name',
    password: 'Password',
    sign_in: 'Sign in',
    signing_in: 'Signing in…',
    enrolling: 'Setting up this phone…',
    enrolled: 'This phone is set up.',
    sign_in_failed: 'That user name and password were not accepted. Check them and try again.',
    enroll_failed: 'This setup link was already used or has expired. Ask staff for a new one.',
    enroll_hint: 'Got a setup link from staff? Open it on this phone instead of signing in.',
    no_storage_title: 'This phone cannot keep your answers',
    no_storage_body: 'This browser does not allow the app to store data (a private window, or storage turned off). Nothing can be kept on this phone, so no form can be filled in here. Open the app in a normal browser window.',
    storage_warning: 'The browser did not promise to keep this app’s data. Sync often so nothing waits only on this phone.',
    storage_error: 'The phone’s storage failed: {message}',
    outbox: 'To send',
    outbox_label: '{n} changes waiting to be sent',
    sync: 'Sync',
    syncing: 'Syncing…',
    cancel: 'Cancel',
    phase_Push: 'Sending',
    phase_Pull: 'Receiving',
    phase_Repair: 'Repairing',
    sync_done: 'Sync finished: {pushed} sent, {pulled} received, {rejected} refused, {conflicts} with conflicts.',
    sync_forms: '{forms} new form versions.',
    sync_attachments: '{up} files sent, {refused} files refused (kept, tried again next time).',
    sync_nothing_lost: 'Refused changes are kept on this phone for review.',
    err_Offline: 'No connection. Everything is kept on this phone; sync again later.',
    err_Cancelled: 'Sync cancelled. Nothing was lost.',
    err_Unauthorized: 'Your sign-in is no longer valid. Please sign in again.',
    err_DeviceRevoked: 'This phone was removed from the partnership. Its data has been erased. Ask staff for a new setup link.',
    err_NotSignedIn: 'Please sign in.',
    err_Server: 'The server had a problem: {message}. Your data is kept; try again later.',
    err_Invalid: 'That did not work: {message}',
    err_NotFound: 'Not found: {message}',
    err_WrongKey: 'The phone’s data could not be opened.',
    err_Storage: 'The phone’s storage failed: {message}',
    err_Callback: 'Something went wrong: {message}',
    err_NoPersistentStorage: 'This browser cannot keep data. Nothing can be kept on this phone.',
    err_unknown: 'Something went wrong: {message}',
    error_title: 'Something went wrong',
    households: 'Households',
    search: 'Search by name or address',
    no_households: 'No households yet.',
    no_match: 'No household matches.',
    add_household: 'Add household',
    household_name: 'Household name',
    address: 'Address',
    save: 'Save',
    back: 'Back',
    members: 'Members',
    members_count: 'Members: {n}',
    no_members: 'No members yet.',
    add_member: 'Add member',
    member_name: 'Name',
    relationship: 'Relationship',
    rel_child: 'Child',
    rel_parent: 'Parent',
    rel_grandparent: 'Grandparent',
    rel_guardian: 'Guardian',
    rel_sibling: 'Sibling',
    rel_other: 'Other',
    birth_date: 'Date of birth (if known)',
    born: 'born {date}',
    responses: 'Surveys',
    no_responses: 'No surveys yet.',
    draft: 'Draft',
    final: 'Final',
    conflict: 'Conflict',
    updated: 'updated {date}',
    start_form: 'Start: {title}',
    other_responses: 'Surveys without a household',
    required_field: 'Required',
    saved_household: 'Household saved.',
    saved_member: 'Member saved.',
    // survey
    screen_of: 'Screen {i} of {n}',
    next: 'Next',
    previous: 'Back',
    required: 'required',
    clear_answer: 'Clear answer',
    not_answered: 'Not answered',
    review: 'Review and finish',
    review_intro: 'Check the answers, then finish. A finished survey is sent at the next sync.',
    finalize: 'Finish survey',
    finalized: 'Finished. It will be sent at the next sync.',
    problems: 'Problems to fix before finishing: {n}',
    go_fix: 'Go to this question',
    is_final: 'This survey is finished and can no longer be changed.',
    close: 'Close',
    add_repeat: 'Add another: {label}',
    add_first_repeat: 'Add: {label}',
    repeat_count: '{n} added',
    instance: '{label} {n}',
    use_location: 'Use my location',
    locating: 'Finding location…',
    location_failed: 'Location not available: {message}',
    take_photo: 'Take or choose a photo',
    choose_file: 'Choose a file',
    attached: 'Attached: {name}',
    attaching: 'Saving the file…',
    signature_help: 'Sign in the box with your finger.',
    clear_signature: 'Clear',
    save_signature: 'Save signature',
    ok: 'OK',
    move_up: 'Move up: {label}',
    move_down: 'Move down: {label}',
    confirm_order: 'Keep this order',
    saved: 'Saved',
    // conflicts
    conflicts_title: 'Conflicting answers',
    conflicts_intro: 'Two people changed these answers at the same time. Choose the right value for each.',
    resolve_conflicts: 'Resolve conflicts',
    no_conflicts: 'No conflicts left.',
    by_at: 'by {author}, {time}',
    shown_now: 'shown now',
    removed: '(removed)',
    note: 'Note (why this value)',
    keep_value: 'Keep the chosen value',
    choose_value: 'Choose a value first.',
    resolved: 'Conflict resolved.',
    // parent
    parent_home: 'Your family',
    children: 'Your children',
    no_children: 'No children on this phone yet. Sync to receive your family.',
    weekly_checkin: 'Weekly check-in for {name}',
    past_checkins: 'Past check-ins',
    no_checkins: 'No check-ins yet.',
    checkin_row: '{name}, {date}',
    signed_in_as: 'Signed in as {name}',
    role_unsupported: 'This app is for outreach workers and parents. Staff use the website.',
  },
  es: {
    app_name: 'De la cuna a la carrera',
    loading: 'Abriendo…',
    language: 'Idioma',
    start_title: 'Bienvenida',
    start_intro: 'Inicie sesión una vez con la cuenta que le dio su alianza. Después la aplicación funciona sin conexión.',
    username: 'Nombre de usuario',
    password: 'Contraseña',
    sign_in: 'Iniciar sesión',
    signing_in: 'Iniciando sesión…',
    enrolling: 'Preparando este teléfono…',
    enrolled: 'Este teléfono está listo.',
    sign_in_failed: 'No se aceptaron ese nombre de usuario y esa contraseña. Revíselos e intente de nuevo.',
    enroll_failed: 'Este enlace de configuración ya se usó o venció. Pida uno nuevo al personal.',
    enroll_hint: '¿Recibió un enlace de configuración del personal? Ábralo en este teléfono en lugar de iniciar sesión.',
    no_storage_title: 'Este teléfono no puede guardar sus respuestas',
    no_storage_body: 'Este navegador no permite que la aplicación guarde datos (una ventana privada o el almacenamiento desactivado). No se puede guardar nada en este teléfono, así que aquí no se puede llenar ningún formulario. Abra la aplicación en una ventana normal del navegador.',
    storage_warning: 'El navegador no prometió conservar los datos de esta aplicación. Sincronice a menudo para que nada quede solo en este teléfono.',
    storage_error: 'Falló el almacenamiento del teléfono: {message}',
    outbox: 'Por enviar',
    outbox_label: '{n} cambios esperan ser enviados',
    sync: 'Sincronizar',
    syncing: 'Sincronizando…',
    cancel: 'Cancelar',
    phase_Push: 'Enviando',
    phase_Pull: 'Recibiendo',
    phase_Repair: 'Reparando',
    sync_done: 'Sincronización terminada: {pushed} enviados, {pulled} recibidos, {rejected} rechazados, {conflicts} con conflictos.',
    sync_forms: '{forms} versiones nuevas de formularios.',
    sync_attachments: '{up} archivos enviados, {refused} archivos rechazados (se guardan y se intentan de nuevo).',
    sync_nothing_lost: 'Los cambios rechazados se guardan en este teléfono para revisarlos.',
    err_Offline: 'Sin conexión. Todo queda guardado en este teléfono; sincronice más tarde.',
    err_Cancelled: 'Sincronización cancelada. No se perdió nada.',
    err_Unauthorized: 'Su sesión ya no es válida. Inicie sesión de nuevo.',
    err_DeviceRevoked: 'Este teléfono fue retirado de la alianza. Sus datos se borraron. Pida al personal un nuevo enlace de configuración.',
    err_NotSignedIn: 'Inicie sesión.',
    err_Server: 'El servidor tuvo un problema: {message}. Sus datos se conservan; intente más tarde.',
    err_Invalid: 'No funcionó: {message}',
    err_NotFound: 'No se encontró: {message}',
    err_WrongKey: 'No se pudieron abrir los datos del teléfono.',
    err_Storage: 'Falló el almacenamiento del teléfono: {message}',
    err_Callback: 'Algo salió mal: {message}',
    err_NoPersistentStorage: 'Este navegador no puede guardar datos. No se puede guardar nada en este teléfono.',
    err_unknown: 'Algo salió mal: {message}',
    error_title: 'Algo salió mal',
    households: 'Hogares',
    search: 'Buscar por nombre o dirección',
    no_households: 'Todavía no hay hogares.',
    no_match: 'Ningún hogar coincide.',
    add_household: 'Agregar hogar',
    household_name: 'Nombre del hogar',
    address: 'Dirección',
    save: 'Guardar',
    back: 'Volver',
    members: 'Integrantes',
    members_count: 'Integrantes: {n}',
    no_members: 'Todavía no hay integrantes.',
    add_member: 'Agregar integrante',
    member_name: 'Nombre',
    relationship: 'Parentesco',
    rel_child: 'Hijo o hija',
    rel_parent: 'Madre o padre',
    rel_grandparent: 'Abuela o abuelo',
    rel_guardian: 'Tutor o tutora',
    rel_sibling: 'Hermano o hermana',
    rel_other: 'Otro',
    birth_date: 'Fecha de nacimiento (si se conoce)',
    born: 'nació el {date}',
    responses: 'Encuestas',
    no_responses: 'Todavía no hay encuestas.',
    draft: 'Borrador',
    final: 'Terminada',
    conflict: 'Conflicto',
    updated: 'actualizada el {date}',
    start_form: 'Comenzar: {title}',
    other_responses: 'Encuestas sin hogar',
    required_field: 'Obligatorio',
    saved_household: 'Hogar guardado.',
    saved_member: 'Integrante guardado.',
    screen_of: 'Pantalla {i} de {n}',
    next: 'Siguiente',
    previous: 'Atrás',
    required: 'obligatoria',
    clear_answer: 'Borrar respuesta',
    not_answered: 'Sin respuesta',
    review: 'Revisar y terminar',
    review_intro: 'Revise las respuestas y termine. Una encuesta terminada se envía en la próxima sincronización.',
    finalize: 'Terminar encuesta',
    finalized: 'Terminado. Se enviará en la próxima sincronización.',
    problems: 'Problemas por corregir antes de terminar: {n}',
    go_fix: 'Ir a esta pregunta',
    is_final: 'Esta encuesta está terminada y ya no se puede cambiar.',
    close: 'Cerrar',
    add_repeat: 'Agregar otro: {label}',
    add_first_repeat: 'Agregar: {label}',
    repeat_count: 'Agregados: {n}',
    instance: '{label} {n}',
    use_location: 'Usar mi ubicación',
    locating: 'Buscando la ubicación…',
    location_failed: 'Ubicación no disponible: {message}',
    take_photo: 'Tomar o elegir una foto',
    choose_file: 'Elegir un archivo',
    attached: 'Adjunto: {name}',
    attaching: 'Guardando el archivo…',
    signature_help: 'Firme en el recuadro con el dedo.',
    clear_signature: 'Borrar',
    save_signature: 'Guardar firma',
    ok: 'De acuerdo',
    move_up: 'Subir: {label}',
    move_down: 'Bajar: {label}',
    confirm_order: 'Dejar este orden',
    saved: 'Guardado',
    conflicts_title: 'Respuestas en conflicto',
    conflicts_intro: 'Dos personas cambiaron estas respuestas al mismo tiempo. Elija el valor correcto de cada una.',
    resolve_conflicts: 'Resolver conflictos',
    no_conflicts: 'No quedan conflictos.',
    by_at: 'por {author}, {time}',
    shown_now: 'se muestra ahora',
    removed: '(borrado)',
    note: 'Nota (por qué este valor)',
    keep_value: 'Conservar el valor elegido',
    choose_value: 'Primero elija un valor.',
    resolved: 'Conflicto resuelto.',
    parent_home: 'Su familia',
    children: 'Sus hijos',
    no_children: 'Todavía no hay niños en este teléfono. Sincronice para recibir a su familia.',
    weekly_checkin: 'Registro semanal de {name}',
    past_checkins: 'Registros anteriores',
    no_checkins: 'Todavía no hay registros.',
    checkin_row: '{name}, {date}',
    signed_in_as: 'Sesión de {name}',
    role_unsupported: 'Esta aplicación es para promotores y familias. El personal usa el sitio web.',
  },
};

export const LANGS = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
];

const KEY = 'c2c.lang';

function initialLang() {
  const saved = localStorage.getItem(KEY);
  if (saved && STRINGS[saved]) return saved;
  const nav = (navigator.language || 'en').slice(0, 2).toLowerCase();
  return STRINGS[nav] ? nav : 'en';
}

let lang = initialLang();
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

export function setLang(code) {
  if (!STRINGS[code]) return;
  lang = code;
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code;
}

/** The string `key` in the current language, `{name}` filled from `params`. */
export function t(key, params = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** A date (unix seconds or YYYY-MM-DD) in the current language. */
export function formatDate(value, withTime = false) {
  let d;
  if (typeof value === 'string') {
    const [y, m, day] = value.split('-').map(Number);
    d = new Date(y, (m || 1) - 1, day || 1);
  } else {
    d = new Date(Number(value) * 1000);
  }
  const opts = withTime
    ? { dateStyle: 'medium', timeStyle: 'short' }
    : { dateStyle: 'medium' };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}

/** The user-facing message of an error from the core, by its kind. */
export function errorMessage(err) {
  const kind = err && err.kind;
  const message = (err && err.message) || String(err);
  if (kind && STRINGS.en['err_' + kind]) return t('err_' + kind, { message });
  return t('err_unknown', { message });
}

// For checks: both languages define the same keys.
export const _keys = () => [Object.keys(STRINGS.en), Object.keys(STRINGS.es)];

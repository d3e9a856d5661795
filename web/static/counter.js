// The counter page (窗口核验). A handheld scanner types the QR text into the
// scan input and ends it with Enter, CR LF, Tab or nothing at all, so the
// input keeps the focus: no click is ever needed between two citizens. A
// webcam scans too: frames go to POST /v1/verify, which decodes them on the
// server. Every scan gets its own entry in the recent list at once, and its
// own deadline: a verifier that does not answer in time gives the amber
// card with a retry button, and an answer never lands on another scan's
// card. A signed file dropped on the page or chosen (document.js) is an
// entry too, verified by POST /v1/verify/document. The recent scans live
// in this module's memory only (a file's entry holds the File, so that a
// retry sends it again).

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { verifyImage } from './api.js';
import * as verdict from './verdict.js';
import { shortTime } from './time.js';
import { checkText, verifyTimeout } from './check.js';
import * as docs from './document.js';

const maxRecent = 10;
const form = document.getElementById('scan-form');
const input = document.getElementById('scan');
const card = document.getElementById('verdict');
const recentList = document.getElementById('recent');
const cameraBtn = document.getElementById('camera-toggle');
const cameraBox = document.getElementById('camera');
const video = document.getElementById('camera-video');
const cameraState = document.getElementById('camera-state');
const scanInterval = Number(document.documentElement.dataset.scanInterval) || 500;

// A scanner with no suffix types the text and stops. Once the input has
// been still for idleSubmit ms, an e-licence text that is complete (its
// envelope's length, read from its first bytes, is all there) is verified.
// Any other text is verified when it came in as a scanner types it: at
// least minIdleText characters, on average less than scannerPace ms apart
// (or inserted at once), after idleSubmit ms for a text that is not an
// e-licence code and staleSubmit ms for an incomplete one, so that a
// truncated scan gets its card and the next scan does not join it. Text
// typed by hand, a few characters a second at most, waits for Enter. The
// pace is an average, so that a scanner's short pause is not a person.
const idleSubmit = 400;
const staleSubmit = 2000;
const scannerPace = 60;
const minIdleText = 8;

const base45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const base41 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*-.:';

// An e-licence text: version 1 (Base45) or version 2 (Base41), the latter
// also as a QR URL, http(s)://host/…/ and the text (docs/FORMAT.md §4);
// LD2: is a signed document's receipt (§16).
const textV1 = /^L[CPA]1:([0-9A-Z $%*+\-./:]*)$/;
const textV2 = /^(?:HTTPS?:\/\/[^/?#]+(?:\/[^/?#]*)*\/)?L[CPAD]2:([0-9A-Z$*\-.:]*)$/;

/**
 * completeness reports whether text holds a whole e-licence envelope
 * ('complete'), the start of one ('incomplete'), or is no e-licence text
 * it can read ('unknown'). The envelope is the CBOR array [payload, 64-byte
 * signature] in Base45 or Base41 (docs/FORMAT.md); only its length is read
 * here, the verifier checks everything else.
 */
export function completeness(text) {
  let m = textV1.exec(text);
  let alphabet = base45;
  if (!m) {
    m = textV2.exec(text);
    alphabet = base41;
  }
  if (!m) {
    // The start of a QR URL, before its text has come in.
    return /^H(T(T(PS?(:(\/(\/[^?#]*)?)?)?)?)?)?$/.test(text) && text.length >= 4 ? 'incomplete' : 'unknown';
  }
  const b = m[1];
  const radix = alphabet.length;
  const have = Math.floor(b.length / 3) * 2 + (b.length % 3 === 2 ? 1 : 0);
  const head = [];
  for (let i = 0; i + 2 < Math.min(b.length, 9); i += 3) {
    const n = alphabet.indexOf(b[i]) + alphabet.indexOf(b[i + 1]) * radix + alphabet.indexOf(b[i + 2]) * radix * radix;
    head.push(n >> 8, n & 0xff);
  }
  if (head.length < 6) return 'incomplete';
  if (head[0] !== 0x82) return 'unknown';
  let len;
  let at;
  const ai = head[1] & 0x1f;
  if (head[1] >> 5 !== 2) return 'unknown';
  if (ai < 24) [len, at] = [ai, 2];
  else if (ai === 24) [len, at] = [head[2], 3];
  else if (ai === 25) [len, at] = [(head[2] << 8) | head[3], 4];
  else if (ai === 26) [len, at] = [((head[2] << 24) | (head[3] << 16) | (head[4] << 8) | head[5]) >>> 0, 6];
  else return 'unknown';
  const need = at + len + 2 + 64;
  return have >= need && b.length % 3 !== 1 ? 'complete' : 'incomplete';
}

// Every scan is one entry, newest first, in this module's memory only:
// {id, text, file, sig, at, outcome, attempt}, with a file (and its
// .p7s) for a signed file. outcome is 'pending' until its answer
// or its deadline; the card shows one entry (shown), the newest unless the
// clerk chose an earlier one in the list.
const scans = [];
let shown = null;
let nextId = 1;

// normalise removes what scanners add around the text (CR, LF, tab,
// spaces a wedge may send) and undoes Caps Lock: the QR alphanumeric set
// has no lower case, so a lower case letter can only be the keyboard's
// doing. Inner spaces are Base45.
export function normalise(s) {
  return s.replace(/^[\r\n\t ]+|[\r\n\t ]+$/g, '').toUpperCase();
}

const oneColumn = window.matchMedia('(max-width: 900px)');

function renderCard(scroll) {
  if (shown === null) {
    verdict.render(card, null);
    return;
  }
  const earlier = scans.length > 0 && shown !== scans[0] ? shown.at : null;
  const scan = shown;
  verdict.render(card, scan.outcome, {
    earlier,
    onRetry: scan.text || scan.file ? () => {
      verify(scan);
      input.focus({ preventScroll: true });
    } : null,
  });
  // On a tablet or phone the card is below the input: bring it into view.
  if (scroll && scan.outcome !== 'pending' && oneColumn.matches) card.scrollIntoView({ block: 'start' });
}

function show(scan, scroll = true) {
  shown = scan;
  renderCard(scroll);
}

function renderRecent() {
  recentList.replaceChildren();
  recentList.dataset.total = String(nextId - 1); // scans made, for tests
  if (scans.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('counter.recentEmpty');
    recentList.append(li);
    return;
  }
  for (const scan of scans) {
    const li = document.createElement('li');
    li.dataset.scan = String(scan.id);
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'recent-show';
    btn.addEventListener('click', () => show(scan));
    const time = document.createElement('time');
    time.dateTime = scan.at.toISOString();
    const w = document.createElement('strong');
    const what = document.createElement('span');
    if (scan.outcome === 'pending') {
      li.className = 'recent-item pending';
      li.dataset.indication = '';
      time.textContent = shortTime(scan.at);
      w.textContent = t('verdict.pending');
    } else {
      const s = verdict.summary(scan.outcome, scan.at);
      li.className = `recent-item ${s.indication.toLowerCase()}`;
      li.dataset.indication = s.indication;
      time.textContent = s.time;
      w.textContent = s.word;
      what.textContent = [s.type, s.holder].filter(Boolean).join(' · ') || s.reason;
      btn.title = s.reason;
    }
    if (scan === shown) li.setAttribute('aria-current', 'true');
    btn.append(time, w, what);
    li.append(btn);
    recentList.append(li);
  }
}

// settle records the outcome of a scan; a late answer changes only its own
// entry, and the card only while it shows that entry.
function settle(scan, attempt, o) {
  if (scan.attempt !== attempt) return; // a retry has replaced this request
  scan.outcome = o;
  if (shown === scan) renderCard(true);
  renderRecent();
}

async function verify(scan) {
  const attempt = ++scan.attempt;
  scan.outcome = 'pending';
  if (shown === scan) renderCard(false);
  renderRecent();
  settle(scan, attempt, scan.file ? await docs.checkFile(scan.file, scan.sig) : await checkText(scan.text));
}

function add(scan) {
  scans.unshift(scan);
  scans.length = Math.min(scans.length, maxRecent);
  shown = scan;
}

function check(text, file = null, sig = null) {
  const scan = { id: nextId++, text, file, sig, at: new Date(), outcome: 'pending', attempt: 0 };
  add(scan);
  verify(scan);
}

// A signed file, dropped or chosen.
docs.setup((file, sig) => check('', file, sig));

// submit verifies what the input holds and empties it, so that the next
// scan starts on an empty input and is never joined to this one.
function submit() {
  clearTimeout(idleTimer);
  const text = normalise(input.value);
  input.value = '';
  typing = null;
  input.focus();
  if (text) check(text);
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});

// Scanners that end a code with Tab: verify instead of leaving the input.
// Tab on an empty input still moves the focus, for keyboard users.
input.addEventListener('keydown', (e) => {
  if (e.key === 'Tab' && !e.shiftKey && !e.isComposing && input.value.trim() !== '') {
    e.preventDefault();
    submit();
  }
});

// Scanners that end with nothing: see idleSubmit.
let idleTimer = 0;
let typing = null; // {start, last} of the text now in the input
input.addEventListener('input', (e) => {
  clearTimeout(idleTimer);
  const now = performance.now();
  if (input.value === '') {
    typing = null;
    return;
  }
  if (typing === null) typing = { start: now, last: now };
  typing.last = now;
  if (e.isComposing) return;
  const text = normalise(input.value);
  const state = completeness(text);
  const wait = state === 'complete' ? idleSubmit : state === 'incomplete' ? staleSubmit : idleSubmit;
  idleTimer = setTimeout(() => {
    const n = input.value.trim().length;
    const scannerPaced = typing && n >= minIdleText && (typing.last - typing.start) / (n - 1) < scannerPace;
    if (state === 'complete' || scannerPaced) submit();
  }, wait);
});

document.getElementById('clear').addEventListener('click', () => {
  show(null);
  renderRecent();
  input.value = '';
  typing = null;
  input.focus();
});

// Keep the focus in the scan input, unless the clerk went to another
// control on purpose (a button, the technical details, the language).
function isControl(el) {
  return !!el && el !== document.body && el.matches('button, a[href], input, select, textarea, summary, [tabindex]:not(#main)');
}

input.addEventListener('blur', (e) => {
  if (isControl(e.relatedTarget)) return;
  setTimeout(() => {
    if (!isControl(document.activeElement) && document.hasFocus()) input.focus({ preventScroll: true });
  }, 0);
});

// A click on the card or the page, not on a control, gives the focus back
// in the click itself. The blur handler's refocus waits for the next task,
// and a busy page can take text inserted at once (rather than typed key by
// key, which the keydown handler below catches) before that task runs: the
// scan would go nowhere. A drag that selected text (a clerk copying the
// licence ID) keeps its selection.
document.addEventListener('click', () => {
  if (isControl(document.activeElement) || !document.getSelection().isCollapsed) return;
  input.focus({ preventScroll: true });
});

window.addEventListener('focus', () => {
  if (!isControl(document.activeElement)) input.focus({ preventScroll: true });
});

// A scanner typing while a button has the focus still reaches the input.
document.addEventListener('keydown', (e) => {
  // Space still presses a focused button; no QR text starts with one.
  if (e.target === input || e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1 || e.key === ' ') return;
  // A file input takes no text: a scan while it has the focus (a file was
  // just chosen) goes to the scan input too.
  if (e.target.matches?.('input:not([type="file"]), textarea, select, [contenteditable]')) return;
  input.focus({ preventScroll: true });
});

// Webcam scanning: a frame every scanInterval ms until a QR code is found;
// after a verdict, a pause, and the same licence is not listed twice.
let stream = null;
let timer = 0;
let busy = false;
let pausedUntil = 0;
let lastKey = '';
let lastAt = 0;
const frameCanvas = document.createElement('canvas');

function setCameraState(key, params) {
  cameraState.dataset.key = key;
  cameraState.dataset.params = JSON.stringify(params || {});
  cameraState.textContent = key ? t(key, params) : '';
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    cameraBox.hidden = false;
    setCameraState('counter.cameraUnsupported');
    return;
  }
  cameraBox.hidden = false;
  setCameraState('counter.cameraStarting');
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    stream = null;
    if (err.name === 'NotAllowedError') setCameraState('counter.cameraDenied');
    else if (err.name === 'NotFoundError' || err.name === 'OverconstrainedError') setCameraState('counter.cameraMissing');
    else if (err.name === 'NotReadableError' || err.name === 'AbortError') setCameraState('counter.cameraBusy');
    else if (err.name === 'SecurityError') setCameraState('counter.cameraUnsupported');
    // The browser's own message is English whatever the page's language:
    // only its name, a code, is shown.
    else setCameraState('counter.cameraFailed', { code: err.name || 'Error' });
    return;
  }
  video.srcObject = stream;
  try {
    await video.play();
  } catch {
    // muted inline video plays without a gesture; if not, frames still come
  }
  cameraBtn.setAttribute('aria-pressed', 'true');
  cameraBtn.dataset.i18n = 'counter.cameraStop';
  cameraBtn.textContent = t('counter.cameraStop');
  setCameraState('counter.cameraScanning');
  timer = setInterval(scanFrame, scanInterval);
}

function stopCamera() {
  clearInterval(timer);
  timer = 0;
  for (const track of stream?.getTracks() || []) track.stop();
  stream = null;
  video.srcObject = null;
  cameraBox.hidden = true;
  setCameraState('');
  cameraBtn.setAttribute('aria-pressed', 'false');
  cameraBtn.dataset.i18n = 'counter.cameraStart';
  cameraBtn.textContent = t('counter.cameraStart');
}

function grab() {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return Promise.resolve(null);
  const scale = Math.min(1, 1280 / Math.max(w, h));
  frameCanvas.width = Math.round(w * scale);
  frameCanvas.height = Math.round(h * scale);
  frameCanvas.getContext('2d').drawImage(video, 0, 0, frameCanvas.width, frameCanvas.height);
  return new Promise((resolve) => frameCanvas.toBlob(resolve, 'image/jpeg', 0.9));
}

async function scanFrame() {
  if (busy || !stream || Date.now() < pausedUntil) return;
  busy = true;
  try {
    const blob = await grab();
    if (!blob || !stream) return;
    const answer = await verifyImage(blob, { timeout: verifyTimeout });
    if (!stream) return;
    if (!answer.ok) {
      // No QR code in this frame: keep looking, and say so if one was seen
      // but could not be read.
      const reason = answer.problem?.errors?.[0]?.reason || answer.problem?.fields?.[0]?.reason || '';
      setCameraState(/unreadable/.test(reason) ? 'counter.cameraUnreadable' : 'counter.cameraScanning');
      return;
    }
    const o = verdict.outcome(answer);
    const lic = o.report.licence || {};
    const key = `${lic.id || ''}|${o.report.kind || ''}|${o.report.indication}|${o.report.sub_indication || ''}`;
    pausedUntil = Date.now() + 2000;
    if (key === lastKey && Date.now() - lastAt < 10000) {
      lastAt = Date.now();
      return; // the same code still in front of the camera
    }
    lastKey = key;
    lastAt = Date.now();
    add({ id: nextId++, text: '', at: new Date(), outcome: o, attempt: 0 });
    renderCard(true);
    renderRecent();
  } finally {
    busy = false;
  }
}

cameraBtn.addEventListener('click', async () => {
  if (stream) stopCamera();
  else await startCamera();
  input.focus({ preventScroll: true });
});

window.addEventListener('pagehide', stopCamera);

i18n.onChange(() => {
  renderCard(false);
  renderRecent();
  if (cameraState.dataset.key) setCameraState(cameraState.dataset.key, JSON.parse(cameraState.dataset.params || '{}'));
});

i18n.init();
renderRecent();
input.focus();

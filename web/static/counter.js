// The counter page (窗口核验). A handheld scanner types the QR text into the
// scan input and presses Enter, so the input keeps the focus: no click is
// ever needed between two citizens. A webcam scans too: frames go to
// POST /v1/verify, which decodes them on the server. The recent scans live
// in this module's memory only.

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { verifyImage, verifyText } from './api.js';
import * as verdict from './verdict.js';

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

let current = null; // the outcome on the card
let seq = 0; // the latest request; older answers are dropped
const recent = []; // {outcome, at}, newest first, memory only

// normalise removes what scanners add around the text (CR, LF, tab) and
// undoes Caps Lock: the QR alphanumeric set has no lower case, so a lower
// case letter can only be the keyboard's doing. Inner spaces are Base45.
export function normalise(s) {
  return s.replace(/^[\r\n\t]+|[\r\n\t]+$/g, '').toUpperCase();
}

const oneColumn = window.matchMedia('(max-width: 900px)');

function show(o) {
  current = o;
  verdict.render(card, o);
  // On a tablet or phone the card is below the input: bring it into view.
  if (o !== null && o !== 'pending' && oneColumn.matches) card.scrollIntoView({ block: 'start' });
}

function remember(o) {
  recent.unshift({ outcome: o, at: new Date() });
  recent.length = Math.min(recent.length, maxRecent);
  renderRecent();
}

function renderRecent() {
  recentList.replaceChildren();
  if (recent.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('counter.recentEmpty');
    recentList.append(li);
    return;
  }
  for (const { outcome, at } of recent) {
    const s = verdict.summary(outcome, at);
    const li = document.createElement('li');
    li.className = `recent-item ${s.indication.toLowerCase()}`;
    const time = document.createElement('time');
    time.dateTime = at.toISOString();
    time.textContent = s.time;
    const w = document.createElement('strong');
    w.textContent = s.word;
    const what = document.createElement('span');
    what.textContent = [s.type, s.holder].filter(Boolean).join(' · ') || s.reason;
    li.append(time, w, what);
    li.title = s.reason;
    recentList.append(li);
  }
}

async function check(text) {
  const mine = ++seq;
  show('pending');
  const o = verdict.outcome(await verifyText(text));
  if (mine !== seq) return;
  show(o);
  remember(o);
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = normalise(input.value);
  input.value = '';
  input.focus();
  if (text) check(text);
});

document.getElementById('clear').addEventListener('click', () => {
  seq++;
  show(null);
  input.value = '';
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

window.addEventListener('focus', () => {
  if (!isControl(document.activeElement)) input.focus({ preventScroll: true });
});

// A scanner typing while a button has the focus still reaches the input.
document.addEventListener('keydown', (e) => {
  // Space still presses a focused button; no QR text starts with one.
  if (e.target === input || e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1 || e.key === ' ') return;
  if (e.target.matches?.('input, textarea, select, [contenteditable]')) return;
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
    else setCameraState('counter.cameraFailed', { detail: err.message || err.name });
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
    const answer = await verifyImage(blob);
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
    seq++;
    show(o);
    remember(o);
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
  verdict.render(card, current);
  renderRecent();
  if (cameraState.dataset.key) setCameraState(cameraState.dataset.key, JSON.parse(cameraState.dataset.params || '{}'));
});

i18n.init();
renderRecent();
input.focus();

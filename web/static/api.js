// Calls to the JSON API of the same origin. Every answer is
// {ok: true, data} or {ok: false, status, problem, network}.

async function call(method, path, { json, form, token } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    return { ok: false, status: 0, network: true, problem: { detail: String(err) } };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    return { ok: false, status: res.status, problem: data || { title: res.statusText } };
  }
  return { ok: true, status: res.status, data };
}

/** problemText is the most useful one-line description of a failed call. */
export function problemText(r) {
  const p = r.problem || {};
  return p.detail || p.title || (r.status ? `HTTP ${r.status}` : 'network error');
}

/** verifyText sends a QR text to POST /v1/verify. */
export function verifyText(text) {
  return call('POST', '/v1/verify', { json: { qr_text: text } });
}

/** verifyImage sends a camera frame to POST /v1/verify, decoded on the server. */
export function verifyImage(blob) {
  const form = new FormData();
  form.append('image', blob, 'frame.jpg');
  return call('POST', '/v1/verify', { form });
}

/** walletSession exchanges a one-time sign-in token for a session. */
export function walletSession(loginToken) {
  return call('POST', '/v1/wallet/session', { json: { login_token: loginToken } });
}

/** walletLicences lists the signed-in holder's licences. */
export function walletLicences(token) {
  return call('GET', '/v1/wallet/licences', { token });
}

/** presentation asks for a fresh dynamic presentation token. */
export function presentation(token, id) {
  return call('POST', `/v1/wallet/licences/${encodeURIComponent(id)}/presentations`, { token, json: {} });
}

/** annotatedCopy asks for an annotated copy (加注件). */
export function annotatedCopy(token, id, req) {
  return call('POST', `/v1/wallet/licences/${encodeURIComponent(id)}/annotated-copies`, { token, json: req });
}

/** departments lists the departments in the trust list. */
export function departments() {
  return call('GET', '/v1/departments');
}

/** walletSignIn tells which sign-ins the issuer offers. */
export function walletSignIn() {
  return call('GET', '/v1/wallet/sign-in');
}

/** walletRefresh rotates the session's secret and extends it. */
export function walletRefresh(token) {
  return call('POST', '/v1/wallet/session/refresh', { token });
}

/** walletSignOut ends the session on the server. */
export function walletSignOut(token) {
  return call('DELETE', '/v1/wallet/session', { token });
}

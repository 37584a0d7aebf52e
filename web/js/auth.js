// Token auth for the dashboard (docs/security.md#the-dashboard): where the token comes from, how
// it rides on requests, and how a fresh one is obtained when the gateway says it is expiring.
// Off (no token, nothing shown) unless the page URL carries ?token= or the gateway refuses us.

const STORAGE_KEY = 'stockfeed.token';

/** Adds `token` as the query parameter `token` to a same-origin path or URL (unchanged without one). */
export function withToken(url, token) {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/**
 * Takes ?token= out of the page URL (so it is not bookmarked, shared or left in the history);
 * returns it, or null.
 */
export function takeTokenFromUrl(loc, history) {
  const url = new URL(loc.href);
  const token = url.searchParams.get('token');
  if (!token) return null;
  url.searchParams.delete('token');
  history?.replaceState?.(history.state, '', url.pathname + url.search + url.hash);
  return token;
}

/**
 * The dashboard's token. `fetchToken`: how a fresh one is obtained — by default the page's hook
 * `window.stockfeedFetchToken` (an async function returning a token, e.g. from your login
 * service) when defined, else the login field asks the user.
 */
export class TokenSource {
  constructor({ initial = null, storage = null, fetchToken = null, askUser = null } = {}) {
    this.storage = storage;
    this.token = initial ?? storage?.getItem(STORAGE_KEY) ?? null;
    if (initial) this.#remember(initial);
    this.fetchToken = fetchToken;
    this.askUser = askUser;
    this.pending = null;
  }

  /** The current token, or null (token auth off, or not known yet). */
  get current() {
    return this.token;
  }

  set(token) {
    this.token = token || null;
    this.#remember(this.token);
  }

  /** A fresh token (refresh, or after a refusal); one request at a time. Null when none came. */
  fresh(reason) {
    if (!this.pending) {
      const source = this.fetchToken ?? globalThis.stockfeedFetchToken ?? this.askUser;
      this.pending = Promise.resolve(source ? source(reason) : null)
        .catch((e) => {
          console.warn('stockfeed: could not get a token', e);
          return null;
        })
        .then((token) => {
          this.pending = null;
          if (typeof token === 'string' && token.trim()) this.set(token.trim());
          return typeof token === 'string' && token.trim() ? token.trim() : null;
        });
    }
    return this.pending;
  }

  #remember(token) {
    try {
      if (token) this.storage?.setItem(STORAGE_KEY, token);
      else this.storage?.removeItem(STORAGE_KEY);
    } catch { /* storage may be unavailable (private mode): the token lives in memory */ }
  }
}

/**
 * Whether the gateway refuses this page for want of a (good) token: asks a cheap route that
 * needs one. Used after a WebSocket closed before it opened (the browser hides the 401).
 */
export async function refusedForToken(token, fetchImpl = globalThis.fetch) {
  try {
    const res = await fetchImpl(withToken('/api/v1/symbols', token), { cache: 'no-store' });
    return res.status === 401;
  } catch {
    return false;
  }
}

/**
 * The login field: a small form shown over the page until the user gives a token.
 * Resolves with the token typed in.
 */
export function askUserForToken(doc, reason) {
  return new Promise((resolve) => {
    doc.getElementById('stockfeed-login')?.remove();
    const form = doc.createElement('form');
    form.id = 'stockfeed-login';
    form.setAttribute('data-testid', 'login');
    form.style.cssText =
      'position:fixed;top:1rem;right:1rem;z-index:1000;padding:.75rem;border-radius:.5rem;' +
      'background:#1f2937;color:#f9fafb;font:14px system-ui;box-shadow:0 4px 16px rgba(0,0,0,.3)';
    const label = doc.createElement('label');
    label.textContent = reason === 'expiring' ? 'Your access token is expiring: ' : 'This feed needs an access token: ';
    const input = doc.createElement('input');
    input.type = 'password';
    input.name = 'token';
    input.autocomplete = 'off';
    input.setAttribute('data-testid', 'login-token');
    const button = doc.createElement('button');
    button.type = 'submit';
    button.textContent = 'Connect';
    label.append(input);
    form.append(label, ' ', button);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      form.remove();
      resolve(token);
    });
    doc.body.append(form);
    input.focus();
  });
}

// @ts-check
/* global window, document, sessionStorage, URL, HTMLElement, HTMLDialogElement, HTMLFormElement, HTMLInputElement */
// The token: from ?token= (once) or the sign-in dialog, kept in this tab only.
import { element, h } from './dom.js';

const tokenKey = 'jetsaga.token';

/** The token of this tab, if it has one. */
export const token = () => sessionStorage.getItem(tokenKey);

/** Takes a token given in the URL and takes it out of the URL (and so out of the history). */
function adoptTokenFromUrl() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (!fromUrl) return;
  sessionStorage.setItem(tokenKey, fromUrl);
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** The top bar's corner: signed in or not, and a way out. */
function renderSession() {
  const box = element('session', HTMLElement);
  box.replaceChildren();
  if (token())
    box.append(
      h('span', {}, 'signed in with a token'),
      h(
        'button',
        { type: 'button', onclick: () => (sessionStorage.removeItem(tokenKey), window.location.reload()) },
        'Sign out',
      ),
    );
}

/** @type {Array<() => void> | null} the calls waiting for a token while the dialog is open */
let loginWaiters = null;

/**
 * Opens the sign-in dialog (once, however many calls wait) and resolves when a token is given.
 * @param {string | null} message why the last one did not do
 * @returns {Promise<void>}
 */
export function askForToken(message) {
  const dialog = element('login', HTMLDialogElement);
  const error = element('login-error', HTMLElement);
  error.hidden = !message;
  error.textContent = message ?? '';
  if (!loginWaiters) {
    loginWaiters = [];
    dialog.showModal();
  }
  const waiters = loginWaiters;
  return new Promise((resolve) => waiters.push(resolve));
}

/** Reads the URL's token, wires the sign-in dialog and shows the session. */
export function initAuth() {
  element('login-form', HTMLFormElement).addEventListener('submit', () => {
    const input = document.querySelector('#login-form input[name=token]');
    if (!(input instanceof HTMLInputElement)) return;
    sessionStorage.setItem(tokenKey, input.value.trim());
    input.value = '';
    renderSession();
    const waiters = loginWaiters ?? [];
    loginWaiters = null;
    for (const w of waiters) w();
  });
  adoptTokenFromUrl();
  renderSession();
}

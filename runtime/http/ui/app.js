// @ts-check
/* global window, document */
// The jetsaga inspector: plain JS modules, no build step, type-checked by
// runtime/http/ui/tsconfig.json. Everything it shows comes from the public API, so it works
// against any replica and shows nothing an API client could not.
//
// app.js      this entry point: sign-in, then the router
// auth.js     the token (?token=, the sign-in dialog), kept in this tab only
// api.js      fetch with the token, a 401 asks for one; errors; the event stream
// dom.js      shared DOM helpers: h(), the view, pills, toasts
// format.js   times and durations
// model.js    the API's shapes (JSDoc types) and the saga status words
// saga-list.js, saga-page.js (with timeline.js, statechart.js, svg.js), reviews.js,
// dead-letters.js, catalogue.js   the pages
import { initAuth } from './auth.js';
import { cataloguePage } from './catalogue.js';
import { deadLetterPage } from './dead-letters.js';
import { reviewsPage } from './reviews.js';
import { listPage } from './saga-list.js';
import { sagaPage } from './saga-page.js';

/** Stops the page shown, when another replaces it. */
let leave = () => {};

/** @param {'sagas' | 'reviews' | 'dlq' | 'catalogue'} nav the top bar's link to mark as where we are */
const markNav = (nav) => document.querySelector(`[data-nav=${nav}]`)?.classList.add('active');

function route() {
  leave();
  leave = () => {};
  const hash = window.location.hash.replace(/^#/, '') || '/';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.remove('active');
  const saga = /^\/sagas\/(.+)$/.exec(hash)?.[1];
  if (saga !== undefined) {
    markNav('sagas');
    leave = sagaPage(decodeURIComponent(saga));
  } else if (hash.startsWith('/reviews')) {
    markNav('reviews');
    leave = reviewsPage();
  } else if (hash.startsWith('/dlq')) {
    markNav('dlq');
    leave = deadLetterPage();
  } else if (hash.startsWith('/catalogue')) {
    markNav('catalogue');
    leave = cataloguePage();
  } else {
    markNav('sagas');
    leave = listPage();
  }
}

initAuth();
window.addEventListener('hashchange', route);
route();

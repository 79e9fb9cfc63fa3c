/**
 * Entry point of the web console. `/console/login#code=…` trades the one-time code for a
 * session: a cookie, and a page key this tab keeps in sessionStorage (the code is taken out of
 * the address bar first, so it stays out of history);
 * `/console/` shows the console, or how to log in.
 */
import type { ConsoleMe, SessionReply } from '../../src/shared/console-protocol.ts';
import { api, ApiError, setPageKey } from './api.ts';
import { App } from './app.ts';
import { h, replace } from './dom.ts';

const root = document.getElementById('app')!;

function message(title: string, text: string): void {
  replace(
    root,
    h(
      'div',
      { class: 'card' },
      h('h1', { text: 'Claude Duo' }),
      h('h2', { text: title }),
      h('p', { text }),
      h(
        'p',
        {},
        'In a terminal on this machine, run ',
        h('code', { text: 'duo web' }),
        ' and open the link it prints.',
      ),
    ),
  );
}

async function login(): Promise<void> {
  const code = new URLSearchParams(location.hash.slice(1)).get('code');
  history.replaceState(null, '', '/console/login');
  if (!code) return message('No login code', 'This page needs the one-time link that `duo web` prints.');
  try {
    const session = await api<SessionReply>('POST', '/console/api/session', { code });
    setPageKey(session.pageKey);
    location.replace('/console/');
  } catch (error) {
    message('Login failed', error instanceof Error ? error.message : String(error));
  }
}

async function showConsole(): Promise<void> {
  let me: ConsoleMe;
  try {
    me = await api<ConsoleMe>('GET', '/console/api/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return message('Not logged in', error.message);
    return message('The broker did not answer', error instanceof Error ? error.message : String(error));
  }
  await new App(root, me).start();
}

void (location.pathname === '/console/login' ? login() : showConsole());

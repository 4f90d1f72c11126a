/** The log-in page: one field for the admin token. Also the body of every 401 a browser gets. */
import type { DashboardBundle } from './bundle.ts';
import { html } from './html.ts';
import { flash, page } from './layout.ts';

export interface LoginPageOptions {
  /** Where to go after logging in (an /admin path). */
  next?: string;
  error?: string;
}

export function loginPage(bundle: DashboardBundle, o: LoginPageOptions = {}): string {
  return page({
    title: 'Log in',
    bundle,
    loggedIn: false,
    body: html`<div class="login">
  <section class="card login-card">
    <h1>Experimenter log-in</h1>
    <p class="muted">Enter the admin token. It is in the file <code>admin-token</code> beside the database, or in <code>METAMER_ADMIN_TOKEN</code>; <code>npx metamer admin token</code> shows it.</p>
    ${o.error ? flash('error', o.error) : ''}
    <form method="post" action="/admin/login" class="form">
      <input type="hidden" name="next" value="${o.next ?? '/admin'}">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false">
      <button type="submit" class="btn btn-primary btn-block">Log in</button>
    </form>
  </section>
</div>`,
  });
}

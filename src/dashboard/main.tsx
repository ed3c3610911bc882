import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, onAuthChange, signIn, signOut, storedKey } from './api.js';
import { innerPages, sections } from './pages/index.js';
import { href, useRoute } from './router.js';
import { ErrorBox } from './ui.js';

/** The dashboard: the sign-in screen until a key works, then the navigation and a page. */
function App() {
  const [key, setKey] = useState(storedKey);
  useEffect(() => onAuthChange(() => setKey(storedKey())), []);
  return key ? <Shell /> : <SignIn />;
}

function SignIn() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const key = value.trim();
    if (!key) return;
    setBusy(true);
    setError(undefined);
    try {
      // Any authenticated read proves the key.
      await api('/catalogs', { key });
      signIn(key);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? new ApiError(401, err.code, 'This key is not the server’s API key.')
          : (err as ApiError),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} class="card">
        <h1>feedwright</h1>
        <p class="muted">
          Sign in with the API key: <code>FEEDWRIGHT_API_KEY</code>, or the key <code>npm start</code> printed
          and kept in <code>data/api-key</code>.
        </p>
        <label class="field">
          <span class="field-label">API key</span>
          <input
            type="password"
            name="apiKey"
            autoComplete="current-password"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            required
          />
        </label>
        {error ? <ErrorBox error={error} /> : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Shell() {
  const route = useRoute();
  const first = route.parts[0] ?? 'catalogs';
  const section = sections.find((s) => s.id === first) ?? innerPages.find((s) => s.id === first);
  const [menuOpen, setMenuOpen] = useState(false);
  // A new page starts at the top, with the menu closed (phones).
  useEffect(() => {
    setMenuOpen(false);
    window.scrollTo(0, 0);
  }, [route.parts.join('/')]);
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href={href('catalogs')}>
          feedwright
        </a>
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="nav" class={menuOpen ? 'open' : ''} aria-label="Sections">
          {sections.map((s) => (
            <a key={s.id} href={href(s.id)} aria-current={s.id === first ? 'page' : undefined}>
              {s.label}
            </a>
          ))}
          <a href="/docs" target="_blank" rel="noopener">
            API docs
          </a>
          <button type="button" class="link sign-out" onClick={signOut}>
            Sign out
          </button>
        </nav>
      </header>
      <main class="content" key={route.parts.join('/')}>
        {section ? (
          section.render(route)
        ) : (
          <ErrorBox error={`There is no page "#/${route.parts.join('/')}".`} />
        )}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}

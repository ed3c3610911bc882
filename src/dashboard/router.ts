import { useEffect, useState } from 'preact/hooks';

// Hash routing (`#/channels/example-google?tab=fetches`): the server answers one page
// at `/`, links can be shared and bookmarked, and Back works.

/** Where the dashboard is: path segments (decoded) and the query. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

/** The current route. */
export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [pathPart = '', queryPart = ''] = hash.split('?', 2);
  const parts = pathPart
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(queryPart) };
}

/** The current route, re-rendering on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A link target: `href('channels', id)` → `#/channels/<id>`, with an optional query. */
export function href(...parts: Array<string | number | Record<string, string | number | undefined>>): string {
  let query = '';
  const segs: string[] = [];
  for (const p of parts) {
    if (typeof p === 'object') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') q.set(k, String(v));
      query = q.toString() ? `?${q}` : '';
    } else {
      segs.push(encodeURIComponent(String(p)));
    }
  }
  return `#/${segs.join('/')}${query}`;
}

/** Goes to a route (adds a browser history entry). */
export function navigate(target: string): void {
  location.hash = target.replace(/^#/, '');
}

/** Replaces the query of the current route, without a new history entry (filters, tabs). */
export function setQuery(params: Record<string, string | undefined>): void {
  const { parts, query } = currentRoute();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') query.delete(k);
    else query.set(k, v);
  }
  const q = query.toString();
  const target = `#/${parts.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
  history.replaceState(null, '', target);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

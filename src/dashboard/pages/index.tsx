import type { ComponentChildren } from 'preact';
import type { Route } from '../router.js';
import { CatalogPage, CatalogsPage } from './catalogs.js';
import { ChannelPage, ChannelsPage } from './channels.js';
import { HistoryPage } from './history.js';
import { ImportRunPage } from './import-run.js';
import { ProductPage, ProductsPage } from './product.js';
import { RulePage, RulesPage } from './rules.js';

/** A top-level section: its nav label, the first path segment, and what it renders. */
export interface Section {
  id: string;
  label: string;
  render: (route: Route) => ComponentChildren;
}

/** The dashboard's sections, in the order of the navigation. */
export const sections: Section[] = [
  {
    id: 'catalogs',
    label: 'Catalogs',
    render: ({ parts }) => (parts[1] ? <CatalogPage id={parts[1]} /> : <CatalogsPage />),
  },
  {
    id: 'channels',
    label: 'Channels',
    render: ({ parts }) => (parts[1] ? <ChannelPage id={parts[1]} /> : <ChannelsPage />),
  },
  {
    id: 'rules',
    label: 'Rules',
    render: ({ parts }) => (parts[1] ? <RulePage id={parts[1]} /> : <RulesPage />),
  },
  {
    id: 'products',
    label: 'Products',
    render: ({ parts, query }) =>
      parts[1] && parts[2] ? (
        <ProductPage catalog={parts[1]} sku={parts.slice(2).join('/')} query={query} />
      ) : (
        <ProductsPage query={parts[1] && !query.has('catalog') ? withCatalog(query, parts[1]) : query} />
      ),
  },
  { id: 'history', label: 'History', render: ({ query }) => <HistoryPage query={query} /> },
];

/** Pages reached from other pages, not from the navigation. */
export const innerPages: Section[] = [
  { id: 'imports', label: 'Import run', render: ({ parts }) => <ImportRunPage run={Number(parts[1])} /> },
];

/** `#/products/<catalog>` searches that catalog. */
function withCatalog(query: URLSearchParams, catalog: string): URLSearchParams {
  const q = new URLSearchParams(query);
  q.set('catalog', catalog);
  return q;
}

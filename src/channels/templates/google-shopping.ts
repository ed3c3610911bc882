import type { ChannelOptions, FeedValue } from '../../model/channel.js';
import { type CanonicalField, googleName } from '../../model/fields.js';
import type { FieldValue } from '../../model/product.js';
import type { Product } from '../../rules/types.js';
import { formatMoney } from '../money.js';
import type { ChannelTemplate, ProductValue, ResolvedField } from './definition.js';

const field = (name: string, from: string): ResolvedField => ({ name, spec: { kind: 'field', field: from } });
/** A canonical field under its Google name (model/fields.ts GOOGLE_FIELD_NAMES): `g:link` is `url`. */
const googleField = (from: CanonicalField): ResolvedField => field(`g:${googleName(from)}`, from);

export const googleShopping: ChannelTemplate<'google-shopping'> = {
  name: 'google-shopping',
  description:
    "Google Shopping's RSS 2.0 with `xmlns:g`: `g:id`, `g:title`, `g:description`, `g:link`, " +
    "`g:image_link` (the first image of `image_url`; the others, then the product's " +
    '`additional_image_link` attribute as a Google feed imports it, each once, up to ten, as repeated ' +
    '`g:additional_image_link`: shop exports list every image in one cell), `g:availability` derived ' +
    'from the quantity after the rules (`in_stock` above 0, else `out_of_stock`; stock not managed: ' +
    "the product's `availability` when it reads as one of Google's values, else `in_stock`), " +
    "`g:price` and `g:sale_price` as `12.50 EUR` (the product's currency, else `options.currency`), " +
    '`g:brand`, `g:gtin`, `g:mpn`, `g:condition`, `g:item_group_id`, `g:product_type`.',
  formats: ['xml'],
  xmlShape: 'google-rss',
  fields: googleFields,
};

/**
 * Google Shopping's product data (RSS 2.0, `g:` namespace). `g:condition` is written only
 * when the product has a condition: Google requires it for used and refurbished products
 * and takes "new" when it is missing, so inventing "new" could only misstate a used item.
 */
function googleFields(): ResolvedField[] {
  return [
    googleField('sku'),
    googleField('title'),
    googleField('description'),
    googleField('url'),
    {
      name: `g:${googleName('image_url')}`,
      spec: { kind: 'computed', description: 'first image', compile: () => (p) => images(p)[0] ?? null },
    },
    {
      name: 'g:additional_image_link',
      // Shop exports list every image in one cell (WooCommerce's "Images"): Google wants the
      // first as image_link and the others, up to ten, as repeated additional_image_link.
      // A Google feed imported keeps its other images as an additional_image_link list.
      spec: {
        kind: 'computed',
        description: 'other images, and the additional_image_link attribute',
        compile: () => additionalImages,
      },
    },
    {
      name: 'g:availability',
      spec: {
        kind: 'computed',
        description: 'availability from quantity',
        compile: () => googleAvailability,
      },
    },
    {
      name: 'g:price',
      spec: { kind: 'computed', description: 'price with currency', compile: (o) => googlePrice('price', o) },
    },
    {
      name: 'g:sale_price',
      spec: {
        kind: 'computed',
        description: 'sale price with currency',
        compile: (o) => googlePrice('sale_price', o),
      },
    },
    googleField('brand'),
    googleField('gtin'),
    googleField('mpn'),
    googleField('condition'),
    googleField('parent_sku'),
    googleField('category'),
  ];
}

/**
 * Google's `g:price` and `g:sale_price`: "12.50 EUR", with the product's `currency`, else the
 * channel's `options.currency`, else the amount alone. A product without that price gives
 * null, so the element is left out.
 */
function googlePrice(name: 'price' | 'sale_price', options: ChannelOptions): ProductValue {
  const fallback = typeof options.currency === 'string' ? options.currency.trim() : '';
  return (p) => {
    const amount = p.fields[name];
    let text: string;
    if (typeof amount === 'number') text = formatMoney(amount);
    else if (typeof amount === 'string' && amount.trim() !== '') text = amount.trim();
    else return null;
    const own = p.fields.currency;
    const currency = typeof own === 'string' && own.trim() !== '' ? own.trim() : fallback;
    return currency === '' ? text : `${text} ${currency}`;
  };
}

/**
 * Google's `g:availability`, derived after the rules: a managed stock (quantity is a number
 * and manage_stock is not false) gives `in_stock` above 0 and `out_of_stock` otherwise. Stock
 * not managed (quantity empty, or manage_stock false): the product's `availability` field
 * when it reads as one of Google's values in a common spelling (see `googleAvailabilityOf`),
 * else `in_stock`: a product whose stock nobody counts is sold as available.
 */
export function googleAvailability(p: Product): string {
  const quantity = p.fields.quantity;
  if (typeof quantity === 'number' && p.fields.manage_stock !== false) {
    return quantity > 0 ? 'in_stock' : 'out_of_stock';
  }
  const stated = p.fields.availability;
  return (typeof stated === 'string' && googleAvailabilityOf(stated)) || 'in_stock';
}

// Spellings seen in shop exports (WooCommerce `onbackorder`, schema.org `InStock`, Google's
// own older "in stock"), compared on letters alone, lower-cased.
const AVAILABILITY_WORDS: Record<string, string> = {
  instock: 'in_stock',
  available: 'in_stock',
  availablefororder: 'in_stock',
  limitedavailability: 'in_stock',
  onlineonly: 'in_stock',
  instoreonly: 'in_stock',
  outofstock: 'out_of_stock',
  soldout: 'out_of_stock',
  unavailable: 'out_of_stock',
  notavailable: 'out_of_stock',
  discontinued: 'out_of_stock',
  preorder: 'preorder',
  presale: 'preorder',
  backorder: 'backorder',
  backordered: 'backorder',
  onbackorder: 'backorder',
};
const NOT_LETTER = /[^a-z]/g;
const SCHEMA_ORG = /^https?schemaorg/;
// Availability texts repeat across a catalog, so each distinct text is read once; the cap
// keeps a feed of unique texts from growing the cache without bound.
const availabilityCache = new Map<string, string | undefined>();
const AVAILABILITY_CACHE_LIMIT = 1000;

/**
 * One of Google's availability values (`in_stock`, `out_of_stock`, `preorder`, `backorder`)
 * for a text such as "In stock", "instock", "out-of-stock", "Pre-order", "onbackorder" or
 * "https://schema.org/InStock"; undefined when the text is none of them.
 */
export function googleAvailabilityOf(text: string): string | undefined {
  const known = availabilityCache.get(text);
  if (known !== undefined || availabilityCache.has(text)) return known;
  const letters = text.toLowerCase().replace(NOT_LETTER, '').replace(SCHEMA_ORG, '');
  const value = Object.hasOwn(AVAILABILITY_WORDS, letters) ? AVAILABILITY_WORDS[letters] : undefined;
  if (availabilityCache.size < AVAILABILITY_CACHE_LIMIT) availabilityCache.set(text, value);
  return value;
}

/** Google takes at most ten additional images. */
const MAX_ADDITIONAL_IMAGES = 10;

/** The product's image URLs: `image_url` as a list, or as one cell of comma-separated URLs. */
function images(p: Product): string[] {
  return imageList(p.fields.image_url ?? p.attributes.image_url);
}

/**
 * Google's `g:additional_image_link`: the images after the first of `image_url`, then those
 * of the `additional_image_link` attribute (as an imported Google feed has it, with or
 * without its `g:` prefix), each once and not the main image, at most ten; null when none.
 */
function additionalImages(p: Product): FeedValue {
  const [main, ...rest] = images(p);
  const listed = imageList(p.attributes.additional_image_link ?? p.attributes['g:additional_image_link']);
  const out: string[] = [];
  for (const url of [...rest, ...listed]) {
    if (out.length === MAX_ADDITIONAL_IMAGES) break;
    if (url !== main && !out.includes(url)) out.push(url);
  }
  return out.length > 0 ? out : null;
}

/** Image URLs from a list, or from one cell of comma-separated URLs. */
function imageList(v: FieldValue | undefined): string[] {
  const all = Array.isArray(v)
    ? v.filter((x) => typeof x === 'string' || typeof x === 'number').map((x) => String(x))
    : typeof v === 'string'
      ? v.split(/,\s*(?=https?:\/\/)/)
      : [];
  return all.map((x) => x.trim()).filter((x) => x !== '');
}

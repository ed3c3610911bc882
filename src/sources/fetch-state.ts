import { createHash } from 'node:crypto';
import type { FeedValidators, FetchState } from '../model/catalog.js';

/**
 * What a catalog remembers of its linked URL between runs: the validators of the last
 * feed it applied, so that the next fetch can ask "changed since?" and a 304 costs no
 * parsing.
 */

/**
 * A stable key for a definition URL that can be stored and compared without storing the
 * URL itself, whose query often holds the merchant's export key.
 */
export function sourceKey(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/**
 * The validators to send for a fetch of `url`: none when nothing was recorded, when the
 * catalog's URL changed since (the old ETag names another resource), or when a person
 * forces a full import.
 */
export function validatorsFor(
  state: FetchState | undefined,
  url: string,
  options: { force?: boolean } = {},
): FeedValidators | undefined {
  if (!state || options.force || state.sourceKey !== sourceKey(url)) return undefined;
  if (state.etag === undefined && state.lastModified === undefined) return undefined;
  return { etag: state.etag, lastModified: state.lastModified };
}

/**
 * The state to record once a fetched feed has been applied; undefined when the server
 * gave no validator, so that there is nothing to store.
 */
export function fetchStateAfter(url: string, validators: FeedValidators): FetchState | undefined {
  if (validators.etag === undefined && validators.lastModified === undefined) return undefined;
  return { sourceKey: sourceKey(url), etag: validators.etag, lastModified: validators.lastModified };
}

import { describe, expect, it } from 'vitest';
import { fetchStateAfter, sourceKey, validatorsFor } from '../../../src/sources/fetch-state.js';

const URL_A = 'https://shop.example/export.csv?key=s3cret';

describe('validatorsFor', () => {
  const state = { sourceKey: sourceKey(URL_A), etag: '"v7"', lastModified: 'Tue, 03 Mar 2026 10:00:00 GMT' };

  it('sends the stored validators for the same URL', () => {
    expect(validatorsFor(state, URL_A)).toEqual({ etag: '"v7"', lastModified: state.lastModified });
  });

  it('sends none when the URL changed, when forced, or when nothing was stored', () => {
    expect(validatorsFor(state, 'https://shop.example/export.csv?key=other')).toBeUndefined();
    expect(validatorsFor(state, URL_A, { force: true })).toBeUndefined();
    expect(validatorsFor(undefined, URL_A)).toBeUndefined();
    expect(validatorsFor({ sourceKey: sourceKey(URL_A) }, URL_A)).toBeUndefined();
  });
});

describe('fetchStateAfter', () => {
  it('keeps the validators under a key that does not reveal the URL', () => {
    const state = fetchStateAfter(URL_A, { etag: '"v8"' });
    expect(state).toEqual({ sourceKey: sourceKey(URL_A), etag: '"v8"', lastModified: undefined });
    expect(state?.sourceKey).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(state)).not.toContain('s3cret');
  });

  it('records nothing when the server gave no validator', () => {
    expect(fetchStateAfter(URL_A, {})).toBeUndefined();
  });
});

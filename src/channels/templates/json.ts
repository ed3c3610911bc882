import { canonicalOutputFields } from './canonical-fields.js';
import type { ChannelTemplate } from './definition.js';

export const json: ChannelTemplate<'json'> = {
  name: 'json',
  description:
    'The canonical fields but manage_stock and status, as the keys of one object per product, in a JSON array.',
  formats: ['json'],
  fields: canonicalOutputFields,
};

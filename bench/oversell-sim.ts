/**
 * Oversell simulation (issue 6, `npm run bench:oversell -- [--seed N] …`): a seeded,
 * discrete-event model of one merchant selling low-stock products on several channels over
 * one or more simulated days, counting the units sold beyond the real stock under three
 * setups run on the identical order stream:
 *
 *   A  feedwright's stock ledger (README "Orders and the stock ledger", SPEC §3);
 *   B  a periodic 15-minute stock sync with no ledger, modelled on LitCommerce;
 *   C  B with a buffer of 3, modelled on Lengow's advice;
 *   A′ A with a rule that shows 0 at `--ledger-buffer` (1) or fewer units, for comparison:
 *      what a merchant trades in lost sales for fewer oversells on top of the ledger. The
 *      verdict is A's (the ledger alone), not A′'s.
 *
 * It is a model of the documented behaviour, not a run of feedwright's code: no store, no
 * HTTP, no feed files. Every modelling choice is below; the figures depend on them, and
 * bench/README.md ("Oversell simulation") gives the ones measured and their spread. Quotes are
 * from the vendors' help pages named below (copies in the project's shared reference folder:
 * litcommerce-inventory-sync-options.txt, litcommerce-order-sync-options.txt,
 * lengow-stock-update.txt, exportyourstore-inventory-sync.txt).
 *
 * The world
 * - Time runs in seconds from 00:00 of day 1 for `--days` days. At 00:00 everything is in
 *   sync: the shop, feedwright's last import, every feed and every channel's listing show
 *   each product's initial stock (C: after its buffer rule). No restocking during the run.
 * - Products: `--products` (200) low-stock products, initial stock uniform in `--stock`
 *   (1–10), stock managed. Products do not interact, so each is simulated on its own.
 * - Orders: one Poisson stream of `--orders-per-hour` (60) orders in total, uniform over the
 *   day (no evening peak), each for one product chosen uniformly, on one of `--channels` (3)
 *   channels chosen uniformly, for 1 unit (85 %), 2 (12 %) or 3 (3 %). Each order also
 *   draws its delays below. The stream is drawn once from the seed, before any setup runs;
 *   every setup sees the same orders, in the same order, with the same delays, and
 *   differs only in which it accepts. Each random quantity has its own uniform draw, scaled
 *   by the options afterwards, so changing a delay option keeps the same arrivals.
 * - A channel accepts an order only if its listing shows at least the ordered quantity
 *   (marketplaces stop selling at 0 listed); otherwise the order is refused (the customer
 *   cannot buy). An accepted order lowers that channel's listing by its quantity at once (a
 *   marketplace knows its own sales). Oversold orders are not cancelled in the model: the
 *   oversell is the harm counted, and what the merchant does about it comes after.
 * - Each channel pulls its feed every `--pull-every` (5) minutes, the channels evenly
 *   staggered (three: 100 s apart) from a phase drawn from the seed. A pull replaces the
 *   channel's listing by the feed's quantity at that moment (the marketplace processes the
 *   feed instantly: any processing delay would lengthen every setup's lag alike). Between
 *   pulls a channel knows nothing of the other channels' sales.
 * - The shop (the merchant's own system, the master of stock) learns of each accepted order
 *   after a delay uniform in `--shop-lag` (1–10 minutes), drawn per order, and decrements
 *   its quantity then. This delay is the channel's order import into the shop (LitCommerce:
 *   "the LitCommerce system will automatically start importing Channel Orders to the
 *   application and your Main Store", LitCommerce "Step 5: Set Up Order Sync Options"; its
 *   inventory page says orders are imported too but gives no interval, so the 1–10 minutes
 *   is an assumption, not a documented figure). It is the same in every setup: feedwright
 *   does not forward orders to the shop, so in setup A the shop still learns of them by the
 *   same path. The shop's quantity may go negative (it has learned of an oversell).
 * - The true stock of a product is its initial stock minus every unit sold on any channel
 *   so far. An order's oversold units are the units it takes below 0 of the true stock:
 *   max(0, q − max(0, true stock before it)). Units sold within stock = sold − oversold.
 * - Lost sales: orders refused while the true stock held at least their quantity (a unit
 *   really on the shelf that no channel would sell), counted in orders and units. A
 *   refused order is not retried; a unit refused to one customer and sold to a later one
 *   still counts as lost once, so units sold within stock is the fairer cost measure.
 *
 * Setup A, feedwright (README "Orders and the stock ledger"; src/store/stock.ts)
 * - The merchant's catalog is imported every `--import-every` (15) minutes, from a phase
 *   drawn from the seed. An import fetched at time f reads the shop's quantity at f (the
 *   shop's feed is generated when it is fetched), and the channels' feeds show it 5 s after
 *   f (the import of a small catalog and the rebuild).
 * - Each channel reports each of its orders to feedwright (`POST /api/channels/{id}/orders`)
 *   after a delay uniform in [0, `--report-delay`] seconds (default 0: the moment it is
 *   placed, as the issue assumes; a connector polling a marketplace's orders every S
 *   seconds is `--report-delay S`). The ledger entry is dated when feedwright applies it.
 * - The feeds show the entry after a rebuild delay uniform in [0.25, `--rebuild-max`] s
 *   (default 5), drawn per order. The README: the publisher rebuilds every channel "within
 *   seconds" after a 250 ms debounce, and each rebuild runs the whole catalog, so 5 s holds
 *   for a small catalog; a large one takes longer (a rebuild asked for during a build waits
 *   for it), which `--rebuild-max` models.
 * - Feed quantity = max(0, last imported quantity − pending entries): an entry is pending
 *   until the feeds show an import fetched at least `--reconcile-after` (30) minutes after
 *   the entry's date (`l.at <= run.fetched - reconcileAfter` in reconcileLedger), so an
 *   import the shop produced before it knew of a sale cannot put the sold units back on sale.
 *   An entry still pending after the shop has learned of its order is counted twice (once
 *   by the import, once by the ledger) until reconciled: the model keeps that, and it
 *   shows as lost sales.
 *
 * Setup B, periodic sync without ledger (LitCommerce)
 * - "LitCommerce automatically runs a process every 15 minutes to keep the inventory on the
 *   Sales Channel in sync with the Main Store. It also updates the Sales Channel with any
 *   Inventory adjustments made in the Main Store and those resulting from new orders
 *   received from the Marketplace." (LitCommerce, "Step 4: Set up Inventory Sync Options"). The
 *   model: every `--import-every` (15) minutes, at the same moments as A's imports, the
 *   feed's quantity becomes the shop's quantity at that moment (5 s later, as in A). Sales
 *   reach the channels only through the shop: a sale the shop has not learned of when the
 *   sync runs is not in the feed, and the next pull puts it back on sale on the channel
 *   that made it. This is Lengow's cycle too: "Lengow retrieves the new stock when your
 *   product catalogue is imported. The channels recover the new stock when your outgoing
 *   catalogue is imported" (Lengow, "Update your stock on marketplaces").
 *   ExportYourStore documents a slower cycle ("Automatic checks run every 2 hours", "How
 *   Inventory Sync Works"): `--import-every 120`.
 * - LitCommerce pushes quantities to marketplaces through their APIs rather than publishing
 *   a feed; modelling B's channels as pulling every 5 minutes, like A's, adds the same 0–5
 *   minutes of lag to both setups.
 *
 * Setup C, B with a buffer (Lengow)
 * - Lengow: "we recommend that you set up a buffer stock. That is to say to unpublish
 *   products that come at a very low stock … Define the value of the quantity attribute to
 *   "0" when my quantity is less than or equal to 3" (Lengow, "Update your stock on
 *   marketplaces").
 *   So the feed shows 0 when the synced quantity is ≤ `--buffer` (3) and the quantity
 *   itself otherwise (not q − 3). LitCommerce's "Automatically set the product on
 *   [Marketplace] to out of stock … when the quantity reaches a fixed value" is the same
 *   rule. The rule applies to the feed; a channel that listed 5 sells all 5 before its next
 *   pull. With stock 1–10, a product that starts at 3 or fewer is never on sale in C.
 *
 * Output: a table per setup (orders accepted, units sold, units oversold, oversold units
 * relative to B, lost sales), the figures as JSON in bench/results/oversell-sim-seed<S>-<time>.json,
 * and exit status 1 when feedwright does not oversell at least 10 times fewer units than B
 * (when B oversells at all), with the reason.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/config/config.js';
import { rng } from './random.js';

const RESULTS_DIR = path.join(PACKAGE_ROOT, 'bench', 'results');
/** The target: feedwright oversells at least this many times fewer units than B. */
const TARGET_RATIO = 10;
/** An import (or B's sync) is in the feeds this long after it was fetched. */
const IMPORT_VISIBLE_AFTER_S = 5;
/** Rebuild delay after a ledger entry: uniform from this (the 250 ms debounce) to `--rebuild-max`. */
const REBUILD_MIN_S = 0.25;
/** Ordered quantities and their probabilities. */
const QUANTITIES: ReadonlyArray<readonly [quantity: number, cumulative: number]> = [
  [1, 0.85],
  [2, 0.97],
  [3, 1],
];
/** Below this many units oversold by B, a run's ratio is noise more than signal. */
const FEW_OVERSELLS = 100;
/** Bumped when the model changes, so results of different models are not compared. */
const MODEL_VERSION = 1;

// ---------------------------------------------------------------------------------------
// Options

interface Range {
  min: number;
  max: number;
}

interface SimOptions {
  seed: number;
  products: number;
  days: number;
  ordersPerHour: number;
  channels: number;
  /** Initial stock per product, whole units. */
  stock: Range;
  /** Minutes between two pulls of one channel's feed. */
  pullEveryMin: number;
  /** Minutes between two imports (A) or syncs (B, C). */
  importEveryMin: number;
  /** Minutes until the shop learns of an order. */
  shopLagMin: Range;
  /** Most seconds until a channel reports an order to feedwright. */
  reportDelayS: number;
  /** Most seconds from an order's report until the feeds show it. */
  rebuildMaxS: number;
  /** Minutes after which an import reflects a ledger entry. */
  reconcileAfterMin: number;
  /** C: the feed shows 0 at this quantity or below. */
  buffer: number;
  ledgerBuffer: number;
  writeResults: boolean;
}

const DEFAULTS: SimOptions = {
  seed: 1,
  products: 200,
  days: 1,
  ordersPerHour: 60,
  channels: 3,
  stock: { min: 1, max: 10 },
  pullEveryMin: 5,
  importEveryMin: 15,
  shopLagMin: { min: 1, max: 10 },
  reportDelayS: 0,
  rebuildMaxS: 5,
  reconcileAfterMin: 30,
  buffer: 3,
  ledgerBuffer: 1,
  writeResults: true,
};

const USAGE = `usage: npm run bench:oversell -- [options]

  --seed N               seed of the order stream, stocks and schedules (default ${DEFAULTS.seed})
  --products N           low-stock products (default ${DEFAULTS.products})
  --stock MIN-MAX        initial stock per product, uniform (default ${DEFAULTS.stock.min}-${DEFAULTS.stock.max})
  --days N               simulated days (default ${DEFAULTS.days})
  --orders-per-hour N    orders per hour, all channels and products together (default ${DEFAULTS.ordersPerHour})
  --channels N           channels (default ${DEFAULTS.channels})
  --pull-every M         minutes between two pulls of a channel's feed (default ${DEFAULTS.pullEveryMin})
  --import-every M       minutes between imports (A) and syncs (B, C) (default ${DEFAULTS.importEveryMin})
  --shop-lag MIN-MAX     minutes until the shop learns of an order, uniform (default ${DEFAULTS.shopLagMin.min}-${DEFAULTS.shopLagMin.max})
  --report-delay S       A: orders reach feedwright within S seconds, uniform (default ${DEFAULTS.reportDelayS})
  --rebuild-max S        A: the feeds show a reported order within S seconds, uniform from 0.25 (default ${DEFAULTS.rebuildMaxS})
  --reconcile-after M    A: the catalog's reconcileAfter in minutes (default ${DEFAULTS.reconcileAfterMin})
  --buffer N             C: the feed shows 0 at N or fewer (default ${DEFAULTS.buffer})
  --ledger-buffer N      A′: A with a rule showing 0 at N or fewer (default ${DEFAULTS.ledgerBuffer})
  --no-results           do not write bench/results/oversell-sim-*.json

Exit status 1 when feedwright (A) does not oversell at least ${TARGET_RATIO}× fewer units than B.`;

class UsageError extends Error {}

function parseNumber(name: string, value: string | undefined, opts: { min: number; whole: boolean }): number {
  const n = value === undefined ? Number.NaN : Number(value.replaceAll('_', ''));
  const ok = Number.isFinite(n) && n >= opts.min && (!opts.whole || Number.isSafeInteger(n));
  if (!ok) {
    throw new UsageError(
      `${name} needs ${opts.whole ? 'a whole number' : 'a number'} ≥ ${opts.min}, got "${value ?? ''}"`,
    );
  }
  return n;
}

function parseRange(name: string, value: string | undefined, opts: { min: number; whole: boolean }): Range {
  const parts = (value ?? '').split('-');
  if (parts.length > 2) throw new UsageError(`${name} needs MIN-MAX or N, got "${value ?? ''}"`);
  const min = parseNumber(name, parts[0], opts);
  const max = parts.length === 2 ? parseNumber(name, parts[1], opts) : min;
  if (max < min) throw new UsageError(`${name}: ${max} is below ${min}`);
  return { min, max };
}

function parseArgs(argv: string[]): SimOptions {
  const o: SimOptions = { ...DEFAULTS };
  const whole = { min: 1, whole: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (arg === '--no-results') {
      o.writeResults = false;
      continue;
    }
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--seed':
        o.seed = parseNumber(name, value(), { min: 0, whole: true });
        break;
      case '--products':
        o.products = parseNumber(name, value(), whole);
        break;
      case '--stock':
        o.stock = parseRange(name, value(), { min: 0, whole: true });
        break;
      case '--days':
        o.days = parseNumber(name, value(), whole);
        break;
      case '--orders-per-hour':
        o.ordersPerHour = parseNumber(name, value(), { min: 0.001, whole: false });
        break;
      case '--channels':
        o.channels = parseNumber(name, value(), whole);
        break;
      case '--pull-every':
        o.pullEveryMin = parseNumber(name, value(), { min: 0.01, whole: false });
        break;
      case '--import-every':
        o.importEveryMin = parseNumber(name, value(), { min: 0.01, whole: false });
        break;
      case '--shop-lag':
        o.shopLagMin = parseRange(name, value(), { min: 0, whole: false });
        break;
      case '--report-delay':
        o.reportDelayS = parseNumber(name, value(), { min: 0, whole: false });
        break;
      case '--rebuild-max':
        o.rebuildMaxS = parseNumber(name, value(), { min: REBUILD_MIN_S, whole: false });
        break;
      case '--reconcile-after':
        o.reconcileAfterMin = parseNumber(name, value(), { min: 0, whole: false });
        break;
      case '--buffer':
        o.buffer = parseNumber(name, value(), { min: 0, whole: true });
        break;
      case '--ledger-buffer':
        o.ledgerBuffer = parseNumber(name, value(), { min: 0, whole: true });
        break;
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// The world: products, schedules and the order stream, all drawn from the seed

interface Order {
  /** Position in the stream. */
  id: number;
  /** When the customer places it (seconds from the start). */
  at: number;
  channel: number;
  product: number;
  quantity: number;
  /** Seconds until the shop learns of it. */
  shopLag: number;
  /** A: seconds until the channel reports it to feedwright. */
  reportDelay: number;
  /** A: seconds from the report until the feeds show it. */
  rebuildDelay: number;
}

interface World {
  /** Initial stock per product. */
  stock: number[];
  /** Seconds of each channel's first pull; later pulls every `pullEvery` seconds. */
  pullOffsets: number[];
  pullEvery: number;
  /** Seconds of the first import (and sync); later ones every `importEvery` seconds. */
  importOffset: number;
  importEvery: number;
  /** Each product's orders, in time order. */
  ordersByProduct: Order[][];
  orderCount: number;
}

/** A seed of its own for each part of the world, so that one part's size does not move another's draws. */
function streamSeed(seed: number, part: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(part, 0x85ebca77)) >>> 0;
}

function buildWorld(o: SimOptions): World {
  const stockRng = rng(streamSeed(o.seed, 1));
  const stock = Array.from(
    { length: o.products },
    () => o.stock.min + Math.floor(stockRng() * (o.stock.max - o.stock.min + 1)),
  );

  const scheduleRng = rng(streamSeed(o.seed, 2));
  const pullEvery = o.pullEveryMin * 60;
  const phase = scheduleRng() * pullEvery;
  // Evenly staggered: with 3 channels and 5 minutes, one channel pulls every 100 s.
  const pullOffsets = Array.from(
    { length: o.channels },
    (_, c) => (phase + (c * pullEvery) / o.channels) % pullEvery,
  );
  const importEvery = o.importEveryMin * 60;
  const importOffset = scheduleRng() * importEvery;

  const orderRng = rng(streamSeed(o.seed, 3));
  const end = o.days * 86_400;
  const ratePerSecond = o.ordersPerHour / 3600;
  const ordersByProduct: Order[][] = Array.from({ length: o.products }, () => []);
  let at = 0;
  let id = 0;
  for (;;) {
    // Seven draws per order, always in this order, whatever the options.
    const gap = -Math.log(1 - orderRng()) / ratePerSecond;
    const uChannel = orderRng();
    const uProduct = orderRng();
    const uQuantity = orderRng();
    const uShop = orderRng();
    const uReport = orderRng();
    const uRebuild = orderRng();
    at += gap;
    if (at >= end) break;
    const product = Math.floor(uProduct * o.products);
    const quantity = QUANTITIES.find(([, cumulative]) => uQuantity < cumulative)?.[0] ?? 1;
    ordersByProduct[product]?.push({
      id: id++,
      at,
      channel: Math.floor(uChannel * o.channels),
      product,
      quantity,
      shopLag: (o.shopLagMin.min + uShop * (o.shopLagMin.max - o.shopLagMin.min)) * 60,
      reportDelay: uReport * o.reportDelayS,
      rebuildDelay: REBUILD_MIN_S + uRebuild * (o.rebuildMaxS - REBUILD_MIN_S),
    });
  }
  return { stock, pullOffsets, pullEvery, importOffset, importEvery, ordersByProduct, orderCount: id };
}

// ---------------------------------------------------------------------------------------
// The three setups

type SetupId = 'A' | 'B' | 'C' | 'A2';

interface SetupFigures {
  setup: SetupId;
  name: string;
  ordersAccepted: number;
  unitsSold: number;
  unitsOversold: number;
  ordersOversold: number;
  productsOversold: number;
  unitsSoldWithinStock: number;
  ordersRefused: number;
  /** Orders refused while the true stock held their quantity. */
  lostOrders: number;
  lostUnits: number;
}

const SETUP_NAMES: Record<SetupId, string> = {
  A: 'A feedwright ledger',
  B: 'B 15-min sync (LitCommerce)',
  C: 'C sync + buffer (Lengow)',
  A2: 'A′ ledger + low-stock rule',
};

/** An accepted order, with the moments each party learns of it. */
interface Sale {
  at: number;
  channel: number;
  quantity: number;
  /** When the shop's quantity includes it. */
  shopKnowsAt: number;
  /** A: the ledger entry's date (when feedwright applied the report). */
  entryAt: number;
  /** A: when the feeds show the entry. */
  entryShownAt: number;
}

/** The moment of the last scheduled event at or before `t` (0, the synced start, when none yet). */
function lastTick(t: number, offset: number, every: number): number {
  if (t < offset) return 0;
  return offset + Math.floor((t - offset) / every) * every;
}

function simulate(setup: SetupId, world: World, o: SimOptions): SetupFigures {
  const reconcileAfter = o.reconcileAfterMin * 60;
  const fig: SetupFigures = {
    setup,
    name: setup === 'A2' ? `A′ ledger + rule 0 at ≤ ${o.ledgerBuffer}` : SETUP_NAMES[setup],
    ordersAccepted: 0,
    unitsSold: 0,
    unitsOversold: 0,
    ordersOversold: 0,
    productsOversold: 0,
    unitsSoldWithinStock: 0,
    ordersRefused: 0,
    lostOrders: 0,
    lostUnits: 0,
  };

  for (let p = 0; p < world.stock.length; p++) {
    const initial = world.stock[p] ?? 0;
    const sales: Sale[] = [];
    let sold = 0;
    let productOversold = 0;

    /** The shop's own quantity at `t`: what an import or sync fetched at `t` reads. */
    const shopQuantity = (t: number): number => {
      let q = initial;
      for (const s of sales) if (s.shopKnowsAt <= t) q -= s.quantity;
      return q;
    };

    /** The quantity the channels' feed shows for this product at `t`. */
    const feedQuantity = (t: number): number => {
      // The last import (sync) the feeds show: fetched at f, shown 5 s later; 0 = the synced start.
      const fetched = lastTick(t - IMPORT_VISIBLE_AFTER_S, world.importOffset, world.importEvery);
      const imported = shopQuantity(fetched);
      if (setup === 'B') return Math.max(0, imported);
      if (setup === 'C') return imported <= o.buffer ? 0 : imported;
      // A: the last imported quantity minus the entries that import does not reflect
      // (dated after fetched − reconcileAfter) and that the feeds already show.
      let pending = 0;
      for (const s of sales) {
        if (s.entryShownAt <= t && s.entryAt > fetched - reconcileAfter) pending += s.quantity;
      }
      const q = Math.max(0, imported - pending);
      // A′: the same, through a rule that shows 0 at ledgerBuffer units or fewer.
      return setup === 'A2' && q <= o.ledgerBuffer ? 0 : q;
    };

    for (const order of world.ordersByProduct[p] ?? []) {
      const offset = world.pullOffsets[order.channel] ?? 0;
      const pulledAt = lastTick(order.at, offset, world.pullEvery);
      // The listing: the feed as the channel last pulled it, less what it sold since.
      let listed = feedQuantity(pulledAt);
      for (const s of sales) if (s.channel === order.channel && s.at > pulledAt) listed -= s.quantity;

      const trueStock = initial - sold;
      if (listed < order.quantity) {
        fig.ordersRefused++;
        if (trueStock >= order.quantity) {
          fig.lostOrders++;
          fig.lostUnits += order.quantity;
        }
        continue;
      }
      const oversold = Math.max(0, order.quantity - Math.max(0, trueStock));
      const entryAt = order.at + order.reportDelay;
      sales.push({
        at: order.at,
        channel: order.channel,
        quantity: order.quantity,
        shopKnowsAt: order.at + order.shopLag,
        entryAt,
        entryShownAt: entryAt + order.rebuildDelay,
      });
      sold += order.quantity;
      fig.ordersAccepted++;
      fig.unitsSold += order.quantity;
      if (oversold > 0) {
        fig.ordersOversold++;
        fig.unitsOversold += oversold;
        productOversold += oversold;
      }
    }
    if (productOversold > 0) fig.productsOversold++;
  }
  fig.unitsSoldWithinStock = fig.unitsSold - fig.unitsOversold;
  return fig;
}

// ---------------------------------------------------------------------------------------
// Output

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Units oversold relative to B's: "0.05×". */
function relativeToB(fig: SetupFigures, b: SetupFigures): string {
  if (fig.setup === 'B') return '1.00×';
  if (b.unitsOversold === 0) return fig.unitsOversold === 0 ? '—' : '∞';
  return `${(fig.unitsOversold / b.unitsOversold).toFixed(2)}×`;
}

function renderTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, stdio: 'pipe' }).toString().trim();
  } catch {
    return null;
  }
}

interface Verdict {
  met: boolean | null;
  /** B's oversold units divided by A's (null when A oversold nothing or B nothing). */
  ratio: number | null;
  reason: string;
}

function judge(a: SetupFigures, b: SetupFigures): Verdict {
  if (b.unitsOversold === 0) {
    return {
      met: null,
      ratio: null,
      reason: 'B oversold nothing with these parameters: the target cannot be judged',
    };
  }
  if (a.unitsOversold === 0) {
    return { met: true, ratio: null, reason: `A oversold nothing, B ${fmtInt(b.unitsOversold)} units` };
  }
  const ratio = b.unitsOversold / a.unitsOversold;
  const met = a.unitsOversold * TARGET_RATIO <= b.unitsOversold;
  return {
    met,
    ratio,
    reason:
      `B oversold ${ratio.toFixed(1)}× as many units as A ` +
      `(${fmtInt(b.unitsOversold)} vs ${fmtInt(a.unitsOversold)}); the target is ≥ ${TARGET_RATIO}×`,
  };
}

function main(): void {
  let o: SimOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  const startedAt = new Date();
  const world = buildWorld(o);
  const setups = (['A', 'B', 'C', 'A2'] as const).map((s) => simulate(s, world, o));
  const [a, b] = setups as [SetupFigures, SetupFigures, SetupFigures, SetupFigures];
  const verdict = judge(a, b);
  const totalUnits = world.stock.reduce((sum, s) => sum + s, 0);

  console.log(
    `Oversell simulation · seed ${o.seed} · ${fmtInt(o.products)} products (stock ${o.stock.min}–${o.stock.max}, ` +
      `${fmtInt(totalUnits)} units) · ${o.days} day${o.days === 1 ? '' : 's'} · ${fmtInt(world.orderCount)} orders ` +
      `(${o.ordersPerHour}/h on ${o.channels} channels)`,
  );
  console.log(
    `  pulls every ${o.pullEveryMin} min · imports/syncs every ${o.importEveryMin} min · shop learns of an order ` +
      `after ${o.shopLagMin.min}–${o.shopLagMin.max} min · A: reported within ${o.reportDelayS} s, ` +
      `rebuild ≤ ${o.rebuildMaxS} s, reconcileAfter ${o.reconcileAfterMin} min · C: 0 shown at ≤ ${o.buffer} · ` +
      `A′: 0 shown at ≤ ${o.ledgerBuffer}`,
  );
  const head = [
    'setup',
    'orders accepted',
    'units sold',
    'units oversold',
    'vs B',
    'oversold orders',
    'sold within stock',
    'lost sales (orders)',
    'lost units',
  ];
  const body = setups.map((f) => [
    f.name,
    fmtInt(f.ordersAccepted),
    fmtInt(f.unitsSold),
    fmtInt(f.unitsOversold),
    relativeToB(f, b),
    fmtInt(f.ordersOversold),
    fmtInt(f.unitsSoldWithinStock),
    fmtInt(f.lostOrders),
    fmtInt(f.lostUnits),
  ]);
  console.log(`\n${renderTable(head, body)}\n`);
  console.log(`  ${verdict.reason}`);
  if (b.unitsOversold < FEW_OVERSELLS) {
    // With a handful of oversells, one unit more or less in A moves the ratio by half.
    console.log(
      `  B oversold fewer than ${FEW_OVERSELLS} units: one run's ratio is noisy. The same per-product rate ` +
        `on 100× the sample: --products ${o.products * 100} --orders-per-hour ${o.ordersPerHour * 100}`,
    );
  }

  if (o.writeResults) {
    const { writeResults: _, ...options } = o;
    const report = {
      benchmark: 'oversell-sim',
      model: MODEL_VERSION,
      startedAt: startedAt.toISOString(),
      options,
      constants: {
        importVisibleAfterS: IMPORT_VISIBLE_AFTER_S,
        rebuildMinS: REBUILD_MIN_S,
        quantities: QUANTITIES.map(([q, c], i) => ({
          quantity: q,
          probability: Number((c - (QUANTITIES[i - 1]?.[1] ?? 0)).toFixed(4)),
        })),
      },
      world: {
        orders: world.orderCount,
        units: totalUnits,
        pullOffsetsS: world.pullOffsets,
        importOffsetS: world.importOffset,
      },
      setups,
      target: { atLeast: TARGET_RATIO, ...verdict },
      node: process.version,
      git: gitCommit(),
    };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = startedAt.toISOString().replaceAll(':', '-');
    const out = path.join(RESULTS_DIR, `oversell-sim-seed${o.seed}-${stamp}.json`);
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`  results: ${path.relative(process.cwd(), out)}`);
  }

  if (verdict.met === false) {
    console.error(
      `\nTarget not met: feedwright oversold ${fmtInt(a.unitsOversold)} units, B ${fmtInt(b.unitsOversold)}; ` +
        `${TARGET_RATIO}× fewer would be at most ${fmtInt(Math.floor(b.unitsOversold / TARGET_RATIO))}.`,
    );
    process.exitCode = 1;
  }
}

main();

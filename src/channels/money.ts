/**
 * A money amount with two decimals ("12.50"), rounded half away from zero on the decimal
 * the merchant wrote: 2.675 gives "2.68" and 1.005 gives "1.01", although both are stored
 * a hair below (scaling by 1 + ε undoes that representation error before rounding).
 */
export function formatMoney(amount: number): string {
  const cents = Math.round(Math.abs(amount) * 100 * (1 + Number.EPSILON));
  const text = (cents / 100).toFixed(2);
  return amount < 0 && cents !== 0 ? `-${text}` : text;
}

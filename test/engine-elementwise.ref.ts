// float64 erf and exact GELU references shared by the op tests.
export const erf = (x: number) => {
  // float64 erf (Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction)
  const t = Math.abs(x);
  if (t < 3) {
    let sum = 0,
      term = t,
      n = 0;
    while (Math.abs(term) > 1e-17 * Math.abs(sum) || n < 3) {
      sum += term / (2 * n + 1);
      n++;
      term *= (-t * t) / n;
      if (n > 200) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
};
export const geluRef = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

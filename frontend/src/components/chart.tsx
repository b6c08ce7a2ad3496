// What the plain-SVG charts (BarChart, LineChart) share: the series, the scale's top, the axis
// labels and the legend. Dependency-free on purpose: the forecast needs two small charts, not a
// charting library.

export type Series = { key: string; label: string; color: string };

/** A round upper bound for the axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

/** An axis label: 2M, 2.5M, 40k, 500. */
export function shortNumber(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

/** The series' colours and names, under the chart. */
export function ChartLegend({ series }: { series: Series[] }) {
  return (
    <figcaption className="legend">
      {series.map((s) => (
        <span key={s.key}>
          <svg width="12" height="12" aria-hidden="true">
            <rect width="12" height="12" fill={s.color} />
          </svg>{" "}
          {s.label}
        </span>
      ))}
    </figcaption>
  );
}

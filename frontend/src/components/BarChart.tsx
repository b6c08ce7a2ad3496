// A small grouped bar chart in plain SVG: three bars per area, one scale, labelled axes.
// Dependency-free on purpose: the forecast needs one chart, not a charting library.

export type Series = { key: string; label: string; color: string };
export type Group = { label: string; values: Record<string, number | null> };

const WIDTH = 760;
const HEIGHT = 320;
const MARGIN = { top: 16, right: 16, bottom: 40, left: 72 };

/** A round upper bound for the axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

function shortNumber(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

export function BarChart({ title, series, groups }: { title: string; series: Series[]; groups: Group[] }) {
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = groups.flatMap((g) => series.map((s) => g.values[s.key] ?? 0));
  const top = niceMax(Math.max(0, ...values));
  const y = (v: number) => MARGIN.top + innerH - (Math.max(0, v) / top) * innerH;
  const groupW = innerW / Math.max(1, groups.length);
  const barW = (groupW * 0.75) / series.length;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title">
        <title id="chart-title">{title}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(t)} y2={y(t)} stroke="#e2e6ea" />
            <text x={MARGIN.left - 8} y={y(t)} textAnchor="end" dominantBaseline="middle" fontSize="12">
              {shortNumber(t)}
            </text>
          </g>
        ))}
        {groups.map((g, gi) => {
          const x0 = MARGIN.left + gi * groupW + groupW * 0.125;
          return (
            <g key={g.label} data-group={g.label}>
              {series.map((s, si) => {
                const v = g.values[s.key];
                if (v === null || v === undefined) return null;
                return (
                  <rect
                    key={s.key}
                    data-series={s.key}
                    x={x0 + si * barW}
                    y={y(v)}
                    width={barW - 2}
                    height={MARGIN.top + innerH - y(v)}
                    fill={s.color}
                  >
                    <title>{`${g.label} — ${s.label}: ${v.toLocaleString("en-GB")}`}</title>
                  </rect>
                );
              })}
              <text
                x={x0 + (barW * series.length) / 2}
                y={HEIGHT - MARGIN.bottom + 20}
                textAnchor="middle"
                fontSize="13"
              >
                {g.label}
              </text>
            </g>
          );
        })}
        <line
          x1={MARGIN.left}
          x2={WIDTH - MARGIN.right}
          y1={MARGIN.top + innerH}
          y2={MARGIN.top + innerH}
          stroke="#6c757d"
        />
      </svg>
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
    </figure>
  );
}

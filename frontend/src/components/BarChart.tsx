// A small grouped bar chart in plain SVG: three bars per area, one scale, labelled axes.
import { ChartLegend, niceMax, shortNumber, type Series } from "./chart";

export type Group = { label: string; values: Record<string, number | null> };

const WIDTH = 760;
const HEIGHT = 320;
const MARGIN = { top: 16, right: 16, bottom: 40, left: 72 };

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
      <ChartLegend series={series} />
    </figure>
  );
}

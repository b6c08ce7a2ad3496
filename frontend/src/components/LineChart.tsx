// A line chart in plain SVG, as BarChart: one line per series over days, one scale, a point per
// day with its value as a tooltip, and the first and last day on the axis.
import { ChartLegend, niceMax, shortNumber, type Series } from "./chart";

export type Point = { day: string; values: Record<string, number | null> };

const WIDTH = 760;
const HEIGHT = 220;
const MARGIN = { top: 16, right: 16, bottom: 32, left: 72 };

export function LineChart({ title, series, points }: { title: string; series: Series[]; points: Point[] }) {
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = points.flatMap((p) => series.map((s) => p.values[s.key] ?? 0));
  const top = niceMax(Math.max(0, ...values));
  const x = (i: number) =>
    MARGIN.left + (points.length > 1 ? (i / (points.length - 1)) * innerW : innerW / 2);
  const y = (v: number) => MARGIN.top + innerH - (Math.max(0, v) / top) * innerH;
  const ticks = [0, 0.5, 1].map((f) => f * top);

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="line-chart-title">
        <title id="line-chart-title">{title}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(t)} y2={y(t)} stroke="#e2e6ea" />
            <text x={MARGIN.left - 8} y={y(t)} textAnchor="end" dominantBaseline="middle" fontSize="12">
              {shortNumber(t)}
            </text>
          </g>
        ))}
        {series.map((s) => {
          const drawn = points
            .map((p, i) => ({ i, v: p.values[s.key], day: p.day }))
            .filter((p): p is { i: number; v: number; day: string } => p.v !== null && p.v !== undefined);
          return (
            <g key={s.key} data-line={s.key}>
              <polyline
                fill="none"
                stroke={s.color}
                strokeWidth={2}
                points={drawn.map((p) => `${x(p.i)},${y(p.v)}`).join(" ")}
              />
              {drawn.map((p) => (
                <circle key={p.day} cx={x(p.i)} cy={y(p.v)} r={3} fill={s.color} data-day={p.day}>
                  <title>{`${s.label}, ${p.day}: ${p.v.toLocaleString("en-GB")}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
        {points.length > 0 && (
          <>
            <text x={x(0)} y={HEIGHT - 8} textAnchor="start" fontSize="12">
              {points[0].day}
            </text>
            {points.length > 1 && (
              <text x={x(points.length - 1)} y={HEIGHT - 8} textAnchor="end" fontSize="12">
                {points[points.length - 1].day}
              </text>
            )}
          </>
        )}
      </svg>
      <ChartLegend series={series} />
    </figure>
  );
}

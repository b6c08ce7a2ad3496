import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { ForecastRow, ForecastSnapshot } from "../api";
import { BarChart } from "../components/BarChart";
import { type Series } from "../components/chart";
import { LineChart, type Point } from "../components/LineChart";
import { Loading, Problem } from "../components/Problem";
import { formatMoney } from "../format";
import { forecastQuery, snapshotsQuery, type Period } from "../queries";

const SERIES: Series[] = [
  { key: "target", label: "Target", color: "#adb5bd" },
  { key: "actuals_to_date", label: "Actuals to date", color: "#1f6feb" },
  { key: "projected_total", label: "Projected total", color: "#2da44e" },
];

const num = (v: string | null) => (v === null ? null : Number(v));

function Gap({ row }: { row: ForecastRow }) {
  if (row.gap_to_target === null) return <>no target</>;
  const gap = Number(row.gap_to_target);
  // gap_to_target = target - projected total: positive means the area is short of its target.
  return (
    <span className={gap > 0 ? "short" : "ahead"}>
      {gap > 0 ? `${formatMoney(row.gap_to_target)} short` : `${formatMoney(String(-gap))} ahead`}
    </span>
  );
}

// One line per area, in the order the snapshots list them (the forecast's area order).
const LINE_COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#1b7c83"];

/** The stored daily forecasts as points: each area's projected total per day. */
export function snapshotLines(
  rows: ForecastSnapshot[],
  total: string,
): { series: Series[]; points: Point[] } {
  const areas = [...new Set(rows.map((r) => r.area))].filter((a) => a !== total);
  const byDay = new Map<string, Point>();
  for (const row of rows) {
    if (row.area === total) continue;
    const point = byDay.get(row.as_of) ?? { day: row.as_of, values: {} };
    point.values[row.area] = Number(row.projected_total);
    byDay.set(row.as_of, point);
  }
  return {
    series: areas.map((area, i) => ({ key: area, label: area, color: LINE_COLORS[i % LINE_COLORS.length] })),
    points: [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)),
  };
}

function SnapshotSeries({ fiscalYear, total }: { fiscalYear: number; total: string }) {
  const snapshots = useQuery(snapshotsQuery(fiscalYear));
  if (snapshots.isPending) return <Loading what="the stored daily forecasts" />;
  if (snapshots.isError) return <Problem error={snapshots.error} onRetry={() => void snapshots.refetch()} />;
  if (snapshots.data.length === 0) {
    return (
      <p className="hint">
        No daily forecast of FY{fiscalYear} is stored yet (manage.py snapshot_forecast stores one a day).
      </p>
    );
  }
  const { series, points } = snapshotLines(snapshots.data, total);
  return (
    <>
      <h3>Projected total per area, day by day</h3>
      <LineChart
        title={`Projected total per area in the stored daily forecasts of FY${fiscalYear}, ${points[0].day} to ${points[points.length - 1].day}`}
        series={series}
        points={points}
      />
    </>
  );
}

export function ForecastPage() {
  // Empty means "the server's default" (the current fiscal year, as of today); the answer
  // fills the inputs in, so the page always shows which period it is looking at.
  const [period, setPeriod] = useState<Period>({ fiscal_year: "", as_of: "" });
  // What the user has typed since the last answer, over what that answer says.
  const [edits, setEdits] = useState<Partial<Period>>({});
  const forecast = useQuery(forecastQuery(period));
  const data = forecast.data;
  const answered = data ? { fiscal_year: String(data.fiscal_year), as_of: data.as_of } : period;
  const draft = { ...answered, ...edits };

  function apply(event: FormEvent) {
    event.preventDefault();
    setPeriod(draft);
    setEdits({});
  }
  return (
    <section aria-labelledby="forecast-heading">
      <h2 id="forecast-heading">Forecast</h2>
      <form className="filters" onSubmit={apply}>
        <div className="field">
          <label htmlFor="forecast-fiscal-year">Fiscal year</label>
          <input
            id="forecast-fiscal-year"
            type="number"
            min="2000"
            max="2100"
            value={draft.fiscal_year}
            // A date from the previous year lies outside the new one (the API refuses it);
            // cleared, the server takes today clamped into the chosen fiscal year.
            onChange={(e) => setEdits({ ...edits, fiscal_year: e.target.value, as_of: "" })}
          />
        </div>
        <div className="field">
          <label htmlFor="forecast-as-of">As of</label>
          <input
            id="forecast-as-of"
            type="date"
            value={draft.as_of}
            onChange={(e) => setEdits({ ...edits, as_of: e.target.value })}
          />
        </div>
        <button type="submit">Show</button>
      </form>
      {forecast.isPending ? (
        <Loading what="the forecast" />
      ) : forecast.isError ? (
        <Problem error={forecast.error} onRetry={() => void forecast.refetch()} />
      ) : data ? (
        <>
          <p className="hint">
            FY{data.fiscal_year} (July {data.fiscal_year - 1} – June {data.fiscal_year}), as of {data.as_of}.
          </p>
          <BarChart
            title={`Target, actuals to date and projected total per area, FY${data.fiscal_year}`}
            series={SERIES}
            groups={data.areas.map((row) => ({
              label: row.area,
              values: {
                target: num(row.target),
                actuals_to_date: num(row.actuals_to_date),
                projected_total: num(row.projected_total),
              },
            }))}
          />
          <SnapshotSeries fiscalYear={data.fiscal_year} total={data.total.area} />
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Forecast per area</caption>
              <thead>
                <tr>
                  <th scope="col">Area</th>
                  <th scope="col">Target</th>
                  <th scope="col">Actuals to date</th>
                  <th scope="col">Projected total</th>
                  <th scope="col">Gap to target</th>
                  <th scope="col">Projected attainment</th>
                  <th scope="col">Open pipeline</th>
                </tr>
              </thead>
              <tbody>
                {[...data.areas, data.total].map((row) => (
                  <tr key={row.area} className={row === data.total ? "total" : undefined}>
                    <th scope="row">{row.area}</th>
                    <td className="num">{formatMoney(row.target)}</td>
                    <td className="num">{formatMoney(row.actuals_to_date)}</td>
                    <td className="num">{formatMoney(row.projected_total)}</td>
                    <td className="num">
                      <Gap row={row} />
                    </td>
                    <td className="num">
                      {row.projected_attainment_pct === null ? "—" : `${row.projected_attainment_pct} %`}
                    </td>
                    <td className="num">{row.open_pipeline_count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

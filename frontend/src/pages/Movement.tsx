import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { AreaMovement, Bucket, DealMovement, Measure, Measures, Movement } from "../api";
import { Loading, Problem } from "../components/Problem";
import { Waterfall, type Step } from "../components/Waterfall";
import { formatMoney } from "../format";
import { movementQuery, type MovementWindow } from "../queries";

// Checked against the schema's Measures by the compiler: a measure the API adds or drops is a
// type error here until it has its words.
const MEASURE_LABELS: Record<Measure, string> = {
  open_count: "Open deals (count)",
  open_mrr: "Monthly revenue of open deals (unweighted)",
  weighted_pipeline: "Weighted pipeline",
};
const MEASURES = Object.keys(MEASURE_LABELS) as Measure[];

const isoDay = (day: Date) => day.toISOString().slice(0, 10);

/** The last two weeks to today, in the fiscal year today is in (named by the year it ends in, from July). */
export function defaultWindow(today: Date = new Date()): MovementWindow {
  const from = new Date(today);
  from.setUTCDate(from.getUTCDate() - 14);
  const year = today.getUTCFullYear();
  return { fiscal_year: today.getUTCMonth() >= 6 ? year + 1 : year, from: isoDay(from), to: isoDay(today) };
}

const bucketLabel = (bucket: string) => bucket.replace(/_/g, " ");

function formatter(measure: Measure) {
  return measure === "open_count"
    ? (v: number) => v.toLocaleString("en-GB")
    : (v: number) => formatMoney(String(v));
}

/** The bars of one row, the buckets in the API's order. */
function steps(row: AreaMovement, measure: Measure): { start: Step; buckets: Step[]; end: Step } {
  const value = (m: Measures) => Number(m[measure]);
  const buckets = (Object.keys(row.buckets) as Bucket[]).map((bucket) => ({
    key: bucket,
    label: bucketLabel(bucket),
    value: value(row.buckets[bucket]),
  }));
  return {
    start: { key: "start", label: "start", value: value(row.start) },
    buckets,
    end: { key: "end", label: "end", value: value(row.end) },
  };
}

/** A bucket's deals: the area's, or every area's for the total (the API lists them per area). */
function dealsOf(movement: Movement, area: string, bucket: Bucket): DealMovement[] {
  const rows = area === movement.total.area ? movement.areas : movement.areas.filter((r) => r.area === area);
  return rows.flatMap((r) => r.deals?.[bucket] ?? []);
}

function Deals({ deals, measure, caption }: { deals: DealMovement[]; measure: Measure; caption: string }) {
  const show = (state: DealMovement["at_from"]) =>
    state === null
      ? "—"
      : measure === "open_count"
        ? String(state[measure])
        : formatMoney(state[measure], true);
  return (
    <div className="table-wrap">
      <table aria-label={caption}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Opportunity</th>
            <th scope="col">OID</th>
            <th scope="col">Area</th>
            <th scope="col">Status at from</th>
            <th scope="col">At from</th>
            <th scope="col">Status at to</th>
            <th scope="col">At to</th>
          </tr>
        </thead>
        <tbody>
          {deals.length === 0 ? (
            <tr>
              <td colSpan={7}>No deal moved this way.</td>
            </tr>
          ) : (
            deals.map((deal) => (
              <tr key={`${deal.oid}-${deal.area}`}>
                <th scope="row">{deal.opportunity_name}</th>
                <td>
                  <code>{deal.oid}</code>
                </td>
                <td>{deal.area ?? "—"}</td>
                <td>{deal.at_from?.status ?? "did not exist"}</td>
                <td className="num">{show(deal.at_from)}</td>
                <td>{deal.at_to?.status ?? "deleted"}</td>
                <td className="num">{show(deal.at_to)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

type Draft = { fiscal_year: string; from: string; to: string };

export function MovementPage({ today }: { today?: Date }) {
  const [period, setPeriod] = useState<MovementWindow>(() => defaultWindow(today));
  const [draft, setDraft] = useState<Draft>(() => ({ ...period, fiscal_year: String(period.fiscal_year) }));
  const [measure, setMeasure] = useState<Measure>("weighted_pipeline");
  const [picked, setPicked] = useState<{ area: string; bucket: Bucket } | null>(null);
  const movement = useQuery(movementQuery(period));
  const data = movement.data;
  const format = formatter(measure);

  function apply(event: FormEvent) {
    event.preventDefault();
    setPeriod({ fiscal_year: Number(draft.fiscal_year), from: draft.from, to: draft.to });
    setPicked(null);
  }

  return (
    <section aria-labelledby="movement-heading">
      <h2 id="movement-heading">Pipeline movement</h2>
      <form className="filters" onSubmit={apply}>
        <div className="field">
          <label htmlFor="movement-fiscal-year">Fiscal year</label>
          <input
            id="movement-fiscal-year"
            type="number"
            min="2000"
            max="2100"
            required
            value={draft.fiscal_year}
            onChange={(e) => setDraft({ ...draft, fiscal_year: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="movement-from">From</label>
          <input
            id="movement-from"
            type="date"
            required
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="movement-to">To</label>
          <input
            id="movement-to"
            type="date"
            required
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          />
        </div>
        <button type="submit">Show</button>
        <div className="field">
          <label htmlFor="movement-measure">Measure</label>
          <select
            id="movement-measure"
            value={measure}
            onChange={(e) => setMeasure(e.target.value as Measure)}
          >
            {MEASURES.map((m) => (
              <option key={m} value={m}>
                {MEASURE_LABELS[m]}
              </option>
            ))}
          </select>
        </div>
      </form>
      {movement.isPending ? (
        <Loading what="the movement" />
      ) : movement.isError ? (
        <Problem error={movement.error} onRetry={() => void movement.refetch()} />
      ) : data ? (
        <>
          <p className="hint">
            FY{data.fiscal_year}: the pipeline when {data.from} began and when {data.to} ended. Click a bar to
            list its deals.
          </p>
          {[data.total, ...data.areas].map((row) => {
            const { start, buckets, end } = steps(row, measure);
            const chosen = picked?.area === row.area ? picked.bucket : undefined;
            return (
              <div key={row.area} className="movement-area">
                <h3>{row.area}</h3>
                <Waterfall
                  title={`${row.area}: ${MEASURE_LABELS[measure]}, ${data.from} to ${data.to}`}
                  start={start}
                  steps={buckets}
                  end={end}
                  format={format}
                  selected={chosen}
                  onSelect={(step) =>
                    setPicked(chosen === step.key ? null : { area: row.area, bucket: step.key as Bucket })
                  }
                />
                {chosen && (
                  <Deals
                    deals={dealsOf(data, row.area, chosen)}
                    measure={measure}
                    caption={`${row.area}: deals ${bucketLabel(chosen)}`}
                  />
                )}
              </div>
            );
          })}
        </>
      ) : null}
    </section>
  );
}

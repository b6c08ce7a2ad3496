import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { Area, Opportunity, Status, Vocabulary } from "../api";
import { OpportunityForm } from "../components/OpportunityForm";
import { ResultCount, ResultTable } from "../components/QueryList";
import { type Column } from "../components/SortableTable";
import { formatMoney } from "../format";
import { opportunitiesQuery } from "../queries";

const COLUMNS: Column<Opportunity>[] = [
  { key: "opportunity_name", label: "Opportunity" },
  { key: "customer_name", label: "Customer" },
  { key: "area", label: "Area" },
  { key: "product", label: "Product" },
  { key: "status", label: "Status", nowrap: true },
  {
    key: "est_monthly_revenue",
    label: "Est. monthly revenue",
    numeric: true,
    render: (o) => formatMoney(o.est_monthly_revenue, true),
  },
  { key: "probability", label: "Probability %", numeric: true },
  { key: "forecast_category", label: "Forecast category" },
  { key: "expected_close_date", label: "Expected close", nowrap: true },
];

const OPPORTUNITIES = { one: "opportunity", many: "opportunities" };

export function OpportunitiesPage({ vocabulary }: { vocabulary?: Vocabulary }) {
  const [area, setArea] = useState<Area | "">("");
  const [status, setStatus] = useState<Status | "">("");
  // While new rows load, the old ones stay on screen: no flash of an empty page per filter.
  const opportunities = useQuery({
    ...opportunitiesQuery({ area, status }),
    placeholderData: keepPreviousData,
  });

  return (
    <section aria-labelledby="opportunities-heading">
      <h2 id="opportunities-heading">Opportunities</h2>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="opportunities-area">Area</label>
          <select id="opportunities-area" value={area} onChange={(e) => setArea(e.target.value as Area | "")}>
            <option value="">All areas</option>
            {vocabulary?.areas.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="opportunities-status">Status</label>
          <select
            id="opportunities-status"
            value={status}
            onChange={(e) => setStatus(e.target.value as Status | "")}
          >
            <option value="">All statuses</option>
            {vocabulary?.statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <ResultCount query={opportunities} noun={OPPORTUNITIES} testId="opportunity-count" />
      </form>
      <ResultTable
        query={opportunities}
        noun={OPPORTUNITIES}
        filtered={area !== "" || status !== ""}
        caption="Opportunities"
        columns={COLUMNS}
        rowKey={(o) => o.oid}
      />
      <OpportunityForm vocabulary={vocabulary} />
    </section>
  );
}

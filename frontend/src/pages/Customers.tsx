import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { Area, Customer, Vocabulary } from "../api";
import { ResultCount, ResultTable } from "../components/QueryList";
import { type Column } from "../components/SortableTable";
import { customersQuery } from "../queries";
import { useDebounced } from "../useDebounced";

// How each field of the customer shows, keyed by the generated Customer type: the compiler
// requires every field the API sends, and no other, so a new field cannot be left out unseen.
const CUSTOMER_FIELDS: { [K in keyof Customer]-?: Omit<Column<Customer>, "key"> } = {
  cid: { label: "CID", numeric: true },
  customer_name: { label: "Customer" },
  area: { label: "Area" },
  account_executive: { label: "Account executive" },
  technical_specialist: { label: "Technical specialist" },
  industry: { label: "Industry" },
  contract_type: { label: "Contract type", nowrap: true },
  contract_start_date: { label: "Contract start", nowrap: true },
  contract_end_date: { label: "Contract end", nowrap: true },
  is_active: { label: "Active" },
  is_key_account: { label: "Key account" },
};

// Every field of the customer, in the API's order.
export const CUSTOMER_COLUMNS: Column<Customer>[] = (Object.keys(CUSTOMER_FIELDS) as (keyof Customer)[]).map(
  (key) => ({ key, ...CUSTOMER_FIELDS[key] }),
);

const SEARCH_DELAY_MS = 250;
const CUSTOMERS = { one: "customer", many: "customers" };

export function CustomersPage({ vocabulary }: { vocabulary?: Vocabulary }) {
  const [area, setArea] = useState<Area | "">("");
  const [searchInput, setSearchInput] = useState("");
  // Wait for a pause in typing before asking the server, rather than one request per key.
  const search = useDebounced(searchInput.trim(), SEARCH_DELAY_MS);
  // While new rows load, the old ones stay on screen: no flash of an empty page per filter.
  const customers = useQuery({ ...customersQuery({ area, search }), placeholderData: keepPreviousData });
  const filtered = area !== "" || search !== "";

  return (
    <section aria-labelledby="customers-heading">
      <h2 id="customers-heading">Customers</h2>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="customers-area">Area</label>
          <select id="customers-area" value={area} onChange={(e) => setArea(e.target.value as Area | "")}>
            <option value="">All areas</option>
            {vocabulary?.areas.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="customers-search">Name</label>
          <input
            id="customers-search"
            type="search"
            placeholder="Search by name"
            value={searchInput}
            onChange={(e) => setSearchInput(e.target.value)}
          />
        </div>
        <ResultCount query={customers} noun={CUSTOMERS} testId="customer-count" />
      </form>
      <ResultTable
        query={customers}
        noun={CUSTOMERS}
        filtered={filtered}
        caption="Customers"
        columns={CUSTOMER_COLUMNS}
        rowKey={(c) => c.cid}
      />
    </section>
  );
}

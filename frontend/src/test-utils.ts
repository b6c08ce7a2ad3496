import { vi } from "vitest";
import type { Customer, Vocabulary } from "./api";

export type Call = { url: URL; init: RequestInit };

/** Replaces fetch with `route`, answering JSON; returns the calls made, for assertions. */
export function mockApi(
  route: (url: URL, init: RequestInit) => [number, unknown] | Promise<[number, unknown]>,
) {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, "http://localhost");
      calls.push({ url, init });
      const [status, body] = await route(url, init);
      return new Response(body === undefined ? "" : JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
  return calls;
}

export const apiError = (code: string, detail: string, attr: string | null = null) => ({
  type: "client_error",
  errors: [{ code, detail, attr }],
});

export const VOCABULARY: Vocabulary = {
  areas: ["France", "Germany", "Switzerland", "Netherlands", "UK"],
  statuses: ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
  products: ["Accounting", "Time Entry", "Payroll", "Expenses"],
  forecast_categories: ["Pipeline", "Best Case", "Commit", "Closed", "Omitted"],
  status_defaults: {
    Prospecting: { probability: 10, forecast_category: "Pipeline" },
    Proposal: { probability: 50, forecast_category: "Best Case" },
  },
};

export function customer(overrides: Partial<Customer>): Customer {
  return {
    cid: 1,
    customer_name: "Acme",
    area: "France",
    account_executive: "A. Martin",
    technical_specialist: "B. Durand",
    industry: "Retail",
    contract_type: "Annual",
    contract_start_date: "2023-01-01",
    contract_end_date: "2025-12-31",
    is_active: true,
    is_key_account: false,
    ...overrides,
  };
}

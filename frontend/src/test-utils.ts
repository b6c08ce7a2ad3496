import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { createElement, type ReactElement } from "react";
import { vi } from "vitest";
import type { Customer, Vocabulary } from "./api";
import {
  areaEnumValues,
  forecastCategoryEnumValues,
  productEnumValues,
  statusEnumValues,
} from "./api-schema";
import { makeQueryClient } from "./queries";

/** A request as the server would see it. */
export type Call = {
  url: URL;
  method: string;
  headers: Headers;
  credentials: RequestCredentials;
  body: string;
};

/** Replaces fetch with `route`, answering JSON; returns the calls made, for assertions. */
export function mockApi(route: (url: URL, call: Call) => [number, unknown] | Promise<[number, unknown]>) {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const call: Call = {
        url: new URL(input.url),
        method: input.method,
        headers: input.headers,
        credentials: input.credentials,
        body: await input.text(),
      };
      calls.push(call);
      const [status, body] = await route(call.url, call);
      return new Response(body === undefined ? "" : JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
  return calls;
}

/** Renders `ui` as the app runs it: under a query client of its own (no cache shared between tests). */
export function renderWithQuery(ui: ReactElement) {
  const queryClient = makeQueryClient();
  return { queryClient, ...render(createElement(QueryClientProvider, { client: queryClient }, ui)) };
}

export const apiError = (code: string, detail: string, attr: string | null = null) => ({
  type: "client_error",
  errors: [{ code, detail, attr }],
});

/** A paged list answer, as the API sends when `limit` is given. */
export const page = <Row>(results: Row[], next: string | null = null) => ({
  count: results.length,
  next,
  previous: null,
  results,
});

// The lists are the API's own enums (generated from its schema); the defaults are an answer
// made up for the tests, which check that the form shows what the server said.
export const VOCABULARY: Vocabulary = {
  areas: [...areaEnumValues],
  statuses: [...statusEnumValues],
  products: [...productEnumValues],
  forecast_categories: [...forecastCategoryEnumValues],
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

// Every read the app makes, as TanStack Query options: one key per answer, so pages that ask the
// same question share one request and one cache entry, and a write invalidates what it changed.
import { QueryClient, queryOptions } from "@tanstack/react-query";
import { call, client, present, rows, type Area, type Status } from "./api";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A failure is shown with a Retry button; retrying a 401 or 403 by itself would only wait.
        retry: false,
        // The customer roster is one large answer: fetch it when asked, not on every tab switch.
        refetchOnWindowFocus: false,
      },
    },
  });
}

export const vocabularyQuery = queryOptions({
  queryKey: ["vocabulary"],
  queryFn: ({ signal }) => call(client.GET("/api/vocabulary", { signal })),
  // The vocabulary is part of the deployed code: it cannot change while the page is open.
  staleTime: Infinity,
});

export type CustomerFilters = { area: Area | ""; search: string };

// The API's vocabulary filters take several values (`?area=France&area=UK`); the pages pick one.
function oneOf<T extends string>(value: T | ""): T[] | undefined {
  return value === "" ? undefined : [value];
}

export function customersQuery(filters: CustomerFilters) {
  const query = { ...present({ search: filters.search }), area: oneOf(filters.area) };
  return queryOptions({
    queryKey: ["customers", "list", query],
    queryFn: ({ signal }) => call(client.GET("/api/customers", { params: { query }, signal })).then(rows),
  });
}

/** The first `limit` customers whose name contains `search`, by name, and whether there are more. */
export function customerSearchQuery(search: string, limit: number) {
  return queryOptions({
    queryKey: ["customers", "search", { search, limit }],
    queryFn: async ({ signal }) => {
      const answer = await call(
        client.GET("/api/customers", {
          params: { query: { search, limit, ordering: ["customer_name"] } },
          signal,
        }),
      );
      return Array.isArray(answer)
        ? { customers: answer, more: false }
        : { customers: answer.results, more: answer.next !== null };
    },
    enabled: search !== "",
  });
}

export type OpportunityFilters = { area: Area | ""; status: Status | "" };

export function opportunitiesQuery(filters: OpportunityFilters) {
  const query = { area: oneOf(filters.area), status: oneOf(filters.status) };
  return queryOptions({
    queryKey: ["opportunities", "list", query],
    queryFn: ({ signal }) =>
      call(
        client.GET("/api/opportunities", {
          params: { query },
          signal,
        }),
      ).then(rows),
  });
}

export type Period = { fiscal_year: string; as_of: string };

export function forecastQuery(period: Period) {
  const query = present(period);
  return queryOptions({
    queryKey: ["forecast", query],
    queryFn: ({ signal }) =>
      call(
        client.GET("/api/forecast", {
          params: {
            query: {
              fiscal_year: query.fiscal_year === undefined ? undefined : Number(query.fiscal_year),
              as_of: query.as_of,
            },
          },
          signal,
        }),
      ),
  });
}

export type MovementWindow = { fiscal_year: number; from: string; to: string };

/** The movement with each bucket's deals (detail=true): the page lists them when a bar is clicked. */
export function movementQuery(window: MovementWindow) {
  return queryOptions({
    queryKey: ["forecast", "movement", window],
    queryFn: ({ signal }) =>
      call(client.GET("/api/forecast/movement", { params: { query: { ...window, detail: true } }, signal })),
  });
}

/** Every stored snapshot row (each area and the total) of a fiscal year, oldest first. */
export function snapshotsQuery(fiscal_year: number) {
  return queryOptions({
    queryKey: ["forecast", "snapshots", { fiscal_year }],
    queryFn: ({ signal }) =>
      call(client.GET("/api/forecast/snapshots", { params: { query: { fiscal_year } }, signal })),
  });
}

/** What a new opportunity changes: every opportunity list and the forecast's pipeline. */
export const AFTER_OPPORTUNITY_WRITE = [["opportunities"], ["forecast"]] as const;

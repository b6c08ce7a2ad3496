// The one place that talks to the API: a typed fetch client over the types generated from the
// API's OpenAPI schema (api-schema.ts, `make types`), so a path, parameter or field the API does
// not have is a compile error here rather than a surprise in the browser. The browser's Django
// session cookie authenticates every call (no token is ever kept in the browser); writes carry
// Django's CSRF token.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api-schema";

type Schemas = components["schemas"];

// --- Shapes of the API contract, named as the app uses them --------------------------------

export type Customer = Schemas["Customer"];
export type Opportunity = Schemas["Opportunity"];
export type OpportunityInput = Schemas["OpportunityInputRequest"];
export type Vocabulary = Schemas["Vocabulary"];
export type Forecast = Schemas["Forecast"];
export type ForecastRow = Schemas["ForecastRow"];
export type ForecastSnapshot = Schemas["ForecastSnapshot"];
export type Movement = Schemas["Movement"];
export type AreaMovement = Schemas["AreaMovement"];
export type Measures = Schemas["Measures"];
export type Measure = keyof Measures;
export type Bucket = keyof Schemas["MovementBuckets"];
export type DealMovement = Schemas["DealMovement"];
export type Area = Schemas["AreaEnum"];
export type Status = Schemas["StatusEnum"];
export type Product = Schemas["ProductEnum"];
export type ForecastCategory = Schemas["ForecastCategoryEnum"];

/** One entry of the API's error shape (`{type, errors: [{code, detail, attr}]}`) for any status. */
export type ApiFieldError = { code: string; detail: string; attr: string | null };

export class ApiError extends Error {
  readonly status: number;
  readonly errors: readonly ApiFieldError[];

  constructor(status: number, errors: readonly ApiFieldError[], message?: string) {
    super(message ?? (errors.length ? errors.map((e) => e.detail).join(" ") : `HTTP ${status}`));
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
  }

  /** Server validation messages by field name; messages without a field go under "". */
  byField(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const e of this.errors) {
      const key = e.attr && e.attr !== "non_field_errors" ? e.attr : "";
      (out[key] ??= []).push(e.detail);
    }
    return out;
  }
}

export const LOGIN_URL = "/accounts/login/?next=/";

export function csrfToken(cookies: string = document.cookie): string {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return "";
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET") request.headers.set("X-CSRFToken", csrfToken());
  },
};

export const client = createClient<paths>({
  // Absolute, so the same requests work in the browser and under Node (the component tests).
  baseUrl: window.location.origin,
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  // The API takes lists as one comma-separated value (`ordering=area,-cid`).
  querySerializer: { array: { style: "form", explode: false } },
  // Looked up at each call, not once here, so tests can stand in for the server.
  fetch: (request) => globalThis.fetch(request),
});
client.use(csrf);

// `error` is typed with the API's error shape, so the compiler checks it against every error
// body the schema declares for a call; at run time it is checked again (a proxy may answer HTML).
type Result<T> = { data?: T; error?: { errors: readonly ApiFieldError[] }; response: Response };

/** The answer's body, or an ApiError carrying the status and the API's error entries. */
export async function call<T>(pending: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await pending;
  } catch (err) {
    // fetch fails with a TypeError when no answer comes back at all.
    if (err instanceof TypeError) throw new ApiError(0, [], "The server cannot be reached.");
    throw err;
  }
  const { data, error, response } = result;
  if (!response.ok) {
    const errors = isErrorBody(error) ? error.errors : [];
    throw new ApiError(response.status, errors, errors[0]?.detail ?? `HTTP ${response.status}`);
  }
  return data as T;
}

function isErrorBody(body: unknown): body is { errors: readonly ApiFieldError[] } {
  return typeof body === "object" && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}

/** Query parameters without the empty ones: an empty filter means "no filter", not "equal to ''". */
export function present<T extends Record<string, unknown>>(
  params: T,
): { [K in keyof T]?: Exclude<T[K], ""> } {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], "">;
  };
}

/** The rows of a list answer: the API sends a plain array unless paging was asked for. */
export function rows<Row>(answer: Row[] | { results: Row[] }): Row[] {
  return Array.isArray(answer) ? answer : answer.results;
}

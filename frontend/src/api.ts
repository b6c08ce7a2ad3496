// The one place that talks to the API. The browser's Django session cookie authenticates
// every call (no token is ever kept in the browser); writes carry Django's CSRF token.

export type ApiFieldError = { code: string; detail: string; attr: string | null };

export class ApiError extends Error {
  readonly status: number;
  readonly errors: ApiFieldError[];

  constructor(status: number, errors: ApiFieldError[], message?: string) {
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

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, [], "The server cannot be reached.");
  }
  const text = await response.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const errors =
      data && typeof data === "object" && Array.isArray((data as { errors?: unknown }).errors)
        ? ((data as { errors: ApiFieldError[] }).errors ?? [])
        : [];
    throw new ApiError(response.status, errors, errors[0]?.detail ?? `HTTP ${response.status}`);
  }
  return data as T;
}

export function apiGet<T>(path: string, params?: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const query = new URLSearchParams(Object.entries(params ?? {}).filter(([, v]) => v !== "")).toString();
  return request<T>("GET", query ? `${path}?${query}` : path, undefined, signal);
}

export function apiPost<T>(path: string, body: unknown): Promise<T> {
  return request<T>("POST", path, body);
}

// --- Shapes of the shared API contract ---------------------------------------------------

export type Customer = {
  cid: number;
  customer_name: string;
  area: string | null;
  account_executive: string | null;
  technical_specialist: string | null;
  industry: string | null;
  contract_type: string | null;
  contract_start_date: string | null;
  contract_end_date: string | null;
  is_active: boolean | null;
  is_key_account: boolean | null;
};

export type Opportunity = {
  oid: string;
  cid: number;
  customer_name: string;
  area: string | null;
  opportunity_name: string;
  product: string;
  status: string;
  est_monthly_revenue: string;
  probability: number | null;
  forecast_category: string | null;
  expected_close_date: string;
  created_at: string;
  updated_at: string;
};

export type Vocabulary = {
  areas: string[];
  statuses: string[];
  products: string[];
  forecast_categories: string[];
  status_defaults: Record<string, { probability: number; forecast_category: string }>;
};

export type ForecastRow = {
  area: string;
  target: string | null;
  actuals_to_date: string;
  last_actual_month: string | null;
  run_rate: string;
  remaining_months: number;
  run_rate_projection: string;
  weighted_pipeline: string;
  projected_total: string;
  gap_to_target: string | null;
  attainment_pct: string | null;
  projected_attainment_pct: string | null;
  open_pipeline_count: number;
  open_pipeline_mrr: string;
};

export type Forecast = { fiscal_year: number; as_of: string; areas: ForecastRow[]; total: ForecastRow };

import { useState, type FormEvent } from "react";
import { apiGet, apiPost, ApiError, type Customer, type Opportunity, type Vocabulary } from "../api";
import { useApi } from "../useApi";
import { Problem } from "./Problem";

type Fields = {
  cid: string;
  opportunity_name: string;
  product: string;
  status: string;
  est_monthly_revenue: string;
  probability: string;
  forecast_category: string;
  expected_close_date: string;
};

const EMPTY: Fields = {
  cid: "",
  opportunity_name: "",
  product: "",
  status: "",
  est_monthly_revenue: "",
  probability: "",
  forecast_category: "",
  expected_close_date: "",
};

/** The request body: optional fields left blank are omitted so the server applies its defaults. */
export function toPayload(fields: Fields): Record<string, unknown> {
  const body: Record<string, unknown> = {
    cid: fields.cid === "" ? null : Number(fields.cid),
    opportunity_name: fields.opportunity_name,
    product: fields.product,
    status: fields.status,
    // Sent as typed: the server owns the rules for money and says what is wrong.
    est_monthly_revenue: fields.est_monthly_revenue.trim(),
    expected_close_date: fields.expected_close_date || null,
  };
  if (fields.probability.trim() !== "") body.probability = Number(fields.probability);
  if (fields.forecast_category !== "") body.forecast_category = fields.forecast_category;
  return body;
}

function FieldErrors({ id, messages }: { id: string; messages?: string[] }) {
  if (!messages?.length) return null;
  return (
    <span className="field-error" id={id}>
      {messages.join(" ")}
    </span>
  );
}

export function OpportunityForm({
  vocabulary,
  onCreated,
}: {
  vocabulary?: Vocabulary;
  onCreated?: (opportunity: Opportunity) => void;
}) {
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [failure, setFailure] = useState<unknown>(undefined);
  const [created, setCreated] = useState<Opportunity | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const customers = useApi(
    (signal) => apiGet<Customer[]>("/api/customers", { ordering: "customer_name" }, signal),
    [],
  );
  const defaults = fields.status ? vocabulary?.status_defaults[fields.status] : undefined;

  function set<K extends keyof Fields>(key: K, value: Fields[K]) {
    setFields((f) => ({ ...f, [key]: value }));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setErrors({});
    setFailure(undefined);
    setCreated(undefined);
    try {
      const opportunity = await apiPost<Opportunity>("/api/opportunities", toPayload(fields));
      setCreated(opportunity);
      setFields(EMPTY);
      onCreated?.(opportunity);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.errors.length) {
        setErrors(err.byField());
      } else {
        setFailure(err);
      }
    } finally {
      setSaving(false);
    }
  }

  // Messages for no field, or for a field this form does not show, go above the form.
  const unplaced = Object.entries(errors).filter(([field]) => !(field in EMPTY));

  // Each input names its error message so screen readers read it with the field.
  const describe = (name: keyof Fields) =>
    errors[name]?.length ? { "aria-invalid": true, "aria-describedby": `${name}-error` } : {};

  return (
    <form className="create" onSubmit={submit} noValidate aria-labelledby="create-heading">
      <h3 id="create-heading">New opportunity</h3>
      {unplaced.length > 0 && (
        <div className="problem" role="alert">
          {unplaced.map(([field, messages]) => (
            <p key={field}>{field ? `${field}: ${messages.join(" ")}` : messages.join(" ")}</p>
          ))}
        </div>
      )}
      {Object.keys(errors).length > 0 && unplaced.length === 0 && (
        <p className="problem" role="alert">
          The opportunity was not saved: please correct the fields marked below.
        </p>
      )}
      {failure !== undefined && <Problem error={failure} />}
      {created && (
        <p className="success" role="status">
          Created “{created.opportunity_name}” for {created.customer_name}.
        </p>
      )}
      <div className="grid">
        <div className="field">
          <label htmlFor="opportunity-cid">Customer</label>
          <select
            id="opportunity-cid"
            value={fields.cid}
            onChange={(e) => set("cid", e.target.value)}
            {...describe("cid")}
          >
            <option value="">{customers.loading ? "Loading customers…" : "Choose a customer"}</option>
            {customers.data?.map((c) => (
              <option key={c.cid} value={c.cid}>
                {c.customer_name} ({c.area ?? "no area"}, {c.cid})
              </option>
            ))}
          </select>
          <FieldErrors id="cid-error" messages={errors.cid} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-opportunity_name">Opportunity name</label>
          <input
            id="opportunity-opportunity_name"
            value={fields.opportunity_name}
            onChange={(e) => set("opportunity_name", e.target.value)}
            {...describe("opportunity_name")}
          />
          <FieldErrors id="opportunity_name-error" messages={errors.opportunity_name} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-product">Product</label>
          <select
            id="opportunity-product"
            value={fields.product}
            onChange={(e) => set("product", e.target.value)}
            {...describe("product")}
          >
            <option value="">Choose a product</option>
            {vocabulary?.products.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          <FieldErrors id="product-error" messages={errors.product} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-status">Status</label>
          <select
            id="opportunity-status"
            value={fields.status}
            onChange={(e) => set("status", e.target.value)}
            {...describe("status")}
          >
            <option value="">Choose a status</option>
            {vocabulary?.statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          <FieldErrors id="status-error" messages={errors.status} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-est_monthly_revenue">Est. monthly revenue</label>
          <input
            id="opportunity-est_monthly_revenue"
            inputMode="decimal"
            value={fields.est_monthly_revenue}
            onChange={(e) => set("est_monthly_revenue", e.target.value)}
            {...describe("est_monthly_revenue")}
          />
          <FieldErrors id="est_monthly_revenue-error" messages={errors.est_monthly_revenue} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-probability">Probability %</label>
          <input
            id="opportunity-probability"
            inputMode="numeric"
            placeholder={defaults ? `default ${defaults.probability}` : "default for the status"}
            value={fields.probability}
            onChange={(e) => set("probability", e.target.value)}
            {...describe("probability")}
          />
          <FieldErrors id="probability-error" messages={errors.probability} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-forecast_category">Forecast category</label>
          <select
            id="opportunity-forecast_category"
            value={fields.forecast_category}
            onChange={(e) => set("forecast_category", e.target.value)}
            {...describe("forecast_category")}
          >
            <option value="">
              {defaults ? `Default (${defaults.forecast_category})` : "Default for the status"}
            </option>
            {vocabulary?.forecast_categories.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
          <FieldErrors id="forecast_category-error" messages={errors.forecast_category} />
        </div>
        <div className="field">
          <label htmlFor="opportunity-expected_close_date">Expected close date</label>
          <input
            id="opportunity-expected_close_date"
            type="date"
            value={fields.expected_close_date}
            onChange={(e) => set("expected_close_date", e.target.value)}
            {...describe("expected_close_date")}
          />
          <FieldErrors id="expected_close_date-error" messages={errors.expected_close_date} />
        </div>
      </div>
      <button type="submit" disabled={saving}>
        {saving ? "Saving…" : "Create opportunity"}
      </button>
    </form>
  );
}

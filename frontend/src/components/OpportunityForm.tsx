import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import {
  ApiError,
  call,
  client,
  type ForecastCategory,
  type OpportunityInput,
  type Product,
  type Status,
  type Vocabulary,
} from "../api";
import { AFTER_OPPORTUNITY_WRITE } from "../queries";
import { CustomerSearch } from "./CustomerSearch";
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

/**
 * The request body. Fields left blank are omitted: the optional ones so the server applies the
 * status defaults, the required ones so the server names each missing field (the rules live
 * there, once). Money and numbers are sent as typed, for the server to judge.
 */
export function toPayload(fields: Fields): Partial<OpportunityInput> {
  const body: Partial<OpportunityInput> = {};
  if (fields.cid !== "") body.cid = Number(fields.cid);
  if (fields.opportunity_name !== "") body.opportunity_name = fields.opportunity_name;
  // The choices come from the API's vocabulary, so they are values of its enums.
  if (fields.product !== "") body.product = fields.product as Product;
  if (fields.status !== "") body.status = fields.status as Status;
  if (fields.est_monthly_revenue.trim() !== "") body.est_monthly_revenue = fields.est_monthly_revenue.trim();
  if (fields.probability.trim() !== "") body.probability = Number(fields.probability);
  if (fields.forecast_category !== "") body.forecast_category = fields.forecast_category as ForecastCategory;
  if (fields.expected_close_date !== "") body.expected_close_date = fields.expected_close_date;
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

export function OpportunityForm({ vocabulary }: { vocabulary?: Vocabulary }) {
  const [fields, setFields] = useState<Fields>(EMPTY);
  // Bumped after each create, to start the customer search afresh with the other fields.
  const [generation, setGeneration] = useState(0);
  const queryClient = useQueryClient();
  const create = useMutation({
    // An incomplete body is sent on purpose: the server's 400 names every missing field.
    mutationFn: (body: Partial<OpportunityInput>) =>
      call(client.POST("/api/opportunities", { body: body as OpportunityInput })),
    onSuccess: async () => {
      setFields(EMPTY);
      setGeneration((g) => g + 1);
      await Promise.all(
        AFTER_OPPORTUNITY_WRITE.map((queryKey) => queryClient.invalidateQueries({ queryKey })),
      );
    },
  });
  const defaults = fields.status ? vocabulary?.status_defaults[fields.status] : undefined;

  function set<K extends keyof Fields>(key: K, value: Fields[K]) {
    setFields((f) => ({ ...f, [key]: value }));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(toPayload(fields));
  }

  // A 400 with messages is shown field by field; any other failure as a whole.
  const refused =
    create.error instanceof ApiError && create.error.status === 400 && create.error.errors.length > 0;
  const errors: Record<string, string[]> = refused ? (create.error as ApiError).byField() : {};
  const failure = create.isError && !refused ? create.error : undefined;
  const created = create.data;
  const saving = create.isPending;

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
          <CustomerSearch
            key={generation}
            id="opportunity-cid"
            onSelect={(c) => set("cid", c ? String(c.cid) : "")}
            errorId={errors.cid?.length ? "cid-error" : undefined}
          />
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
